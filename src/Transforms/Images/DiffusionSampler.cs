namespace Aigc.MLNet.Transforms.Images;

/// <summary>Reverse-process sampler of a diffusion model.</summary>
public enum DiffusionSamplerKind
{
    /// <summary>Ancestral DDPM sampling over all T steps with the posterior variance β̃ₜ (stochastic).</summary>
    Ddpm,

    /// <summary>DDIM (Song et al. 2021) over a strided subset of steps; η = 0 is deterministic, η = 1 with all T steps equals DDPM.</summary>
    Ddim,
}

/// <summary>
/// Predicts the noise ε of a batch: <paramref name="x"/> is [rows, features] at timestep <paramref name="timestep"/>;
/// the prediction goes to <paramref name="epsilon"/> (same shape).
/// </summary>
/// <param name="x">Noisy samples xₜ, row-major [rows, features].</param>
/// <param name="rows">Rows in the batch.</param>
/// <param name="timestep">Timestep t (0-based) of every row.</param>
/// <param name="epsilon">Destination of ε̂(xₜ, t).</param>
public delegate void NoisePredictor(ReadOnlySpan<float> x, int rows, int timestep, Span<float> epsilon);

/// <summary>
/// DDPM and DDIM sampling loops in plain C# over any ε-predictor (a TorchSharp module, an ONNX Runtime session or an
/// analytic function). Every row's noise is a function of its seed only, so a row gives the same sample alone or in a batch.
/// </summary>
/// <remarks>
/// Each step predicts ε, forms x̂₀ = (xₜ − √(1−ᾱₜ) ε) / √ᾱₜ (optionally clipped to [-1, 1], then ε is recomputed from the clipped
/// x̂₀), and moves to the previous timestep τ: DDPM uses the posterior q(xₜ₋₁ | xₜ, x̂₀) with variance β̃ₜ; DDIM uses
/// x_τ = √ᾱ_τ x̂₀ + √(1 − ᾱ_τ − σ²) ε + σ z with σ = η √((1 − ᾱ_τ)/(1 − ᾱₜ)) √(1 − ᾱₜ/ᾱ_τ). With η = 1 and all T steps
/// σ² = β̃ₜ and the DDIM step equals the DDPM step. x_T of a row is <see cref="LatentSampler.Sample(int, int)"/> of its seed.
/// </remarks>
public static class DiffusionSampler
{
    /// <summary>The timesteps a sampler visits, from the noisiest down to 0.</summary>
    /// <param name="timesteps">T.</param>
    /// <param name="sampler">DDPM (all T) or DDIM.</param>
    /// <param name="steps">DDIM steps (1..T); ignored by DDPM.</param>
    public static int[] Timesteps(int timesteps, DiffusionSamplerKind sampler, int steps)
    {
        if (timesteps <= 0) throw new ArgumentOutOfRangeException(nameof(timesteps), timesteps, "Timesteps (T) must be positive.");
        if (sampler == DiffusionSamplerKind.Ddpm) steps = timesteps;
        Validate(timesteps, sampler, steps, 0);
        // Evenly spaced, always ending at 0; with steps = T every timestep is visited.
        var visited = new int[steps];
        for (int i = 0; i < steps; i++) visited[steps - 1 - i] = (int)((long)i * timesteps / steps);
        return visited;
    }

    /// <summary>Checks sampler settings against a schedule of <paramref name="timesteps"/> steps.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Steps outside 1..T (DDIM) or a negative / non-finite η.</exception>
    public static void Validate(int timesteps, DiffusionSamplerKind sampler, int steps, double eta)
    {
        if (sampler is not (DiffusionSamplerKind.Ddpm or DiffusionSamplerKind.Ddim))
            throw new ArgumentOutOfRangeException(nameof(sampler), sampler, "Sampler must be Ddpm or Ddim.");
        if (sampler == DiffusionSamplerKind.Ddim && (steps <= 0 || steps > timesteps))
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"SamplingSteps must be in 1..{timesteps} (the model's T) for DDIM.");
        if (!double.IsFinite(eta) || eta < 0)
            throw new ArgumentOutOfRangeException(nameof(eta), eta, "Eta must be a finite value ≥ 0 (0: deterministic DDIM, 1: DDPM-like noise).");
    }

    /// <summary>Draws one sample per seed.</summary>
    /// <param name="schedule">The model's noise schedule.</param>
    /// <param name="model">The ε-predictor.</param>
    /// <param name="seeds">One seed per row.</param>
    /// <param name="features">Values per row (784 for MNIST).</param>
    /// <param name="sampler">DDPM or DDIM.</param>
    /// <param name="steps">DDIM steps (ignored by DDPM).</param>
    /// <param name="eta">DDIM η (ignored by DDPM).</param>
    /// <param name="clipDenoised">Clip x̂₀ to [-1, 1] at every step (images); false for unbounded data.</param>
    /// <returns>x₀, row-major [seeds, features], in model space (images: [-1, 1]).</returns>
    public static float[] Sample(NoiseSchedule schedule, NoisePredictor model, ReadOnlySpan<int> seeds, int features,
        DiffusionSamplerKind sampler, int steps, double eta, bool clipDenoised)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(model);
        if (seeds.Length == 0) throw new ArgumentException("At least one seed is needed.", nameof(seeds));
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features), features, "features must be positive.");
        int[] visited = Timesteps(schedule.Timesteps, sampler, steps);
        Validate(schedule.Timesteps, sampler, visited.Length, sampler == DiffusionSamplerKind.Ddpm ? 0 : eta);

        int rows = seeds.Length;
        var x = new float[rows * features];
        for (int r = 0; r < rows; r++) LatentSampler.Sample(seeds[r], x.AsSpan(r * features, features));
        var epsilon = new float[x.Length];
        var z = new float[features];
        for (int i = 0; i < visited.Length; i++)
        {
            int t = visited[i];
            int previous = i + 1 < visited.Length ? visited[i + 1] : -1;
            model(x, rows, t, epsilon);
            double abT = schedule.AlphaBar(t), abPrev = schedule.AlphaBar(previous);
            double sqrtAb = Math.Sqrt(abT), sqrtOneMinusAb = Math.Sqrt(1 - abT);
            // σ² = η² (1 − ᾱ_τ)/(1 − ᾱₜ) (1 − ᾱₜ/ᾱ_τ); for DDPM (η = 1, τ = t − 1) this is β̃ₜ.
            double sigma = previous < 0 ? 0 : eta * Math.Sqrt((1 - abPrev) / (1 - abT) * (1 - abT / abPrev));
            double direction = Math.Sqrt(Math.Max(1 - abPrev - sigma * sigma, 0));
            double sqrtAbPrev = Math.Sqrt(abPrev);
            // DDPM's posterior mean μ̃ = c₀ x̂₀ + cₜ xₜ, written independently of the DDIM form (the tests compare the two).
            double beta = schedule.Betas[t];
            double c0 = beta * sqrtAbPrev / (1 - abT), ct = Math.Sqrt(schedule.Alphas[t]) * (1 - abPrev) / (1 - abT);
            double ddpmSigma = Math.Sqrt(schedule.PosteriorVariances[t]);
            bool ddpm = sampler == DiffusionSamplerKind.Ddpm;
            for (int r = 0; r < rows; r++)
            {
                int seed = seeds[r];
                if (sigma > 0 || (ddpm && t > 0)) StepNoise(seed, i, z);
                var xr = x.AsSpan(r * features, features);
                var er = epsilon.AsSpan(r * features, features);
                for (int j = 0; j < features; j++)
                {
                    double e = er[j];
                    double x0 = (xr[j] - sqrtOneMinusAb * e) / sqrtAb;
                    if (clipDenoised && (x0 > 1 || x0 < -1))
                    {
                        x0 = Math.Clamp(x0, -1, 1);
                        e = (xr[j] - sqrtAb * x0) / sqrtOneMinusAb;
                    }
                    double next;
                    if (ddpm)
                        next = t == 0 ? x0 : c0 * x0 + ct * xr[j] + ddpmSigma * z[j];
                    else
                        next = sqrtAbPrev * x0 + direction * e + (sigma > 0 ? sigma * z[j] : 0);
                    xr[j] = (float)next;
                }
            }
        }
        return x;
    }

    /// <summary>Standard-normal noise of step <paramref name="stepIndex"/> for the row of <paramref name="seed"/> (SplitMix64 + Box–Muller).</summary>
    internal static void StepNoise(int seed, int stepIndex, Span<float> destination) =>
        LatentSampler.Fill(0xD1B54A32D192ED03UL * (ulong)(uint)seed ^ 0x9E3779B97F4A7C15UL * (ulong)(stepIndex + 1) ^ 0x5DEECE66DUL, destination);
}
