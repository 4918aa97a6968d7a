namespace Aigc.MLNet.Transforms.Images;

/// <summary>Shape of a diffusion noise schedule β₁..β_T.</summary>
public enum NoiseScheduleKind
{
    /// <summary>β linear from <c>BetaStart</c> to <c>BetaEnd</c> (Ho et al. 2020), both scaled by 1000 / T so other T keep the same overall noise.</summary>
    Linear,

    /// <summary>ᾱ(t) = cos²(((t/T) + s) / (1 + s) · π/2) / ᾱ(0) with s = 0.008, β clipped to 0.999 (Nichol &amp; Dhariwal 2021).</summary>
    Cosine,
}

/// <summary>
/// A diffusion noise schedule and its closed forms, in plain C# (no TorchSharp) so the trainer and the ONNX serving
/// path share one definition. Timesteps are 0-based: t = 0..T-1, where t = 0 is the least noisy step.
/// </summary>
/// <remarks>
/// αₜ = 1 − βₜ, ᾱₜ = ∏ₛ≤ₜ αₛ, q(xₜ | x₀) = N(√ᾱₜ x₀, (1 − ᾱₜ) I), posterior variance β̃ₜ = βₜ (1 − ᾱₜ₋₁) / (1 − ᾱₜ)
/// with ᾱ₋₁ = 1 (so β̃₀ = 0). All values are computed in double precision.
/// </remarks>
public sealed class NoiseSchedule
{
    /// <summary>Default number of diffusion steps T.</summary>
    public const int DefaultTimesteps = 1000;

    /// <summary>Default first β of the linear schedule (for T = 1000).</summary>
    public const double DefaultBetaStart = 1e-4;

    /// <summary>Default last β of the linear schedule (for T = 1000).</summary>
    public const double DefaultBetaEnd = 0.02;

    private readonly double[] _betas;
    private readonly double[] _alphas;
    private readonly double[] _alphaBars;
    private readonly double[] _posteriorVariances;

    /// <summary>Builds a schedule.</summary>
    /// <param name="kind">Linear or cosine.</param>
    /// <param name="timesteps">T, the number of diffusion steps (positive).</param>
    /// <param name="betaStart">First β of the linear schedule at T = 1000 (scaled by 1000 / T); unused by the cosine schedule.</param>
    /// <param name="betaEnd">Last β of the linear schedule at T = 1000 (scaled by 1000 / T); unused by the cosine schedule.</param>
    /// <exception cref="ArgumentOutOfRangeException">T ≤ 0, or β bounds outside 0 &lt; start ≤ end and a scaled end below 1.</exception>
    public NoiseSchedule(NoiseScheduleKind kind = NoiseScheduleKind.Linear, int timesteps = DefaultTimesteps,
        double betaStart = DefaultBetaStart, double betaEnd = DefaultBetaEnd)
    {
        if (timesteps <= 0)
            throw new ArgumentOutOfRangeException(nameof(timesteps), timesteps, "Timesteps (T) must be positive.");
        Kind = kind;
        Timesteps = timesteps;
        BetaStart = betaStart;
        BetaEnd = betaEnd;
        _betas = new double[timesteps];
        switch (kind)
        {
            case NoiseScheduleKind.Linear:
            {
                double scale = 1000.0 / timesteps;
                double start = betaStart * scale, end = betaEnd * scale;
                if (!(betaStart > 0) || !(betaEnd >= betaStart) || !(end < 1))
                    throw new ArgumentOutOfRangeException(nameof(betaEnd), betaEnd,
                        $"The linear schedule needs 0 < BetaStart ≤ BetaEnd and BetaEnd · 1000 / T < 1 (BetaStart {betaStart}, BetaEnd {betaEnd}, T {timesteps}).");
                for (int t = 0; t < timesteps; t++)
                    _betas[t] = timesteps == 1 ? start : start + (end - start) * t / (timesteps - 1);
                break;
            }
            case NoiseScheduleKind.Cosine:
            {
                const double s = 0.008;
                static double F(double u) { double c = Math.Cos((u + s) / (1 + s) * Math.PI / 2); return c * c; }
                for (int t = 0; t < timesteps; t++)
                    _betas[t] = Math.Min(1 - F((t + 1.0) / timesteps) / F((double)t / timesteps), 0.999);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown noise schedule.");
        }
        _alphas = new double[timesteps];
        _alphaBars = new double[timesteps];
        _posteriorVariances = new double[timesteps];
        double product = 1;
        for (int t = 0; t < timesteps; t++)
        {
            _alphas[t] = 1 - _betas[t];
            double previous = product;
            product *= _alphas[t];
            _alphaBars[t] = product;
            _posteriorVariances[t] = _betas[t] * (1 - previous) / (1 - product);
        }
    }

    /// <summary>Shape of the schedule.</summary>
    public NoiseScheduleKind Kind { get; }

    /// <summary>T, the number of diffusion steps.</summary>
    public int Timesteps { get; }

    /// <summary>First β of the linear schedule as given (before the 1000 / T scaling).</summary>
    public double BetaStart { get; }

    /// <summary>Last β of the linear schedule as given (before the 1000 / T scaling).</summary>
    public double BetaEnd { get; }

    /// <summary>βₜ, t = 0..T-1.</summary>
    public IReadOnlyList<double> Betas => _betas;

    /// <summary>αₜ = 1 − βₜ.</summary>
    public IReadOnlyList<double> Alphas => _alphas;

    /// <summary>ᾱₜ = ∏ₛ≤ₜ αₛ.</summary>
    public IReadOnlyList<double> AlphaBars => _alphaBars;

    /// <summary>β̃ₜ = βₜ (1 − ᾱₜ₋₁) / (1 − ᾱₜ), the variance of q(xₜ₋₁ | xₜ, x₀); β̃₀ = 0.</summary>
    public IReadOnlyList<double> PosteriorVariances => _posteriorVariances;

    /// <summary>ᾱₜ, with ᾱ₋₁ = 1 (the clean data) for t = −1.</summary>
    /// <param name="t">Timestep −1..T-1.</param>
    public double AlphaBar(int t)
    {
        if (t < -1 || t >= Timesteps) throw new ArgumentOutOfRangeException(nameof(t), t, $"Timestep must be in -1..{Timesteps - 1}.");
        return t < 0 ? 1.0 : _alphaBars[t];
    }

    /// <summary>The forward process in closed form: xₜ = √ᾱₜ x₀ + √(1 − ᾱₜ) ε.</summary>
    /// <param name="x0">Clean data (images scaled to [-1, 1]).</param>
    /// <param name="noise">ε, standard normal, same length.</param>
    /// <param name="t">Timestep 0..T-1.</param>
    /// <param name="destination">xₜ, same length.</param>
    public void AddNoise(ReadOnlySpan<float> x0, ReadOnlySpan<float> noise, int t, Span<float> destination)
    {
        if (noise.Length != x0.Length || destination.Length != x0.Length)
            throw new ArgumentException($"x0 ({x0.Length}), noise ({noise.Length}) and destination ({destination.Length}) must have the same length.", nameof(noise));
        if ((uint)t >= (uint)Timesteps) throw new ArgumentOutOfRangeException(nameof(t), t, $"Timestep must be in 0..{Timesteps - 1}.");
        double a = Math.Sqrt(_alphaBars[t]), b = Math.Sqrt(1 - _alphaBars[t]);
        for (int i = 0; i < x0.Length; i++) destination[i] = (float)(a * x0[i] + b * noise[i]);
    }
}
