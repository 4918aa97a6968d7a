using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aigc.MLNet.Trainers.Sequence;

/// <summary>
/// An AR(p) model x_t = c + φ_1 x_{t-1} + … + φ_p x_{t-p} + ε_t, ε_t ~ N(0, σ²), fitted by ordinary least squares on
/// a numeric series, with one-step prediction, multi-step forecasts and seeded sampling of continuations.
/// </summary>
public sealed class AutoRegressiveModel
{
    /// <summary>Creates a model from known parameters.</summary>
    /// <param name="coefficients">φ_1 … φ_p (φ_1 multiplies the most recent value).</param>
    /// <param name="intercept">The constant c.</param>
    /// <param name="noiseStdDev">σ, the standard deviation of the innovations.</param>
    [JsonConstructor]
    public AutoRegressiveModel(IReadOnlyList<double> coefficients, double intercept, double noiseStdDev)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        if (coefficients.Count < 1)
            throw new ArgumentException("An AR(p) model needs p ≥ 1 coefficients.", nameof(coefficients));
        if (coefficients.Any(c => !double.IsFinite(c)) || !double.IsFinite(intercept))
            throw new ArgumentException("AR coefficients and intercept must be finite.", nameof(coefficients));
        if (!(noiseStdDev >= 0))
            throw new ArgumentOutOfRangeException(nameof(noiseStdDev), noiseStdDev, "The noise standard deviation must be ≥ 0.");
        Coefficients = coefficients.ToArray();
        Intercept = intercept;
        NoiseStdDev = noiseStdDev;
    }

    /// <summary>φ_1 … φ_p.</summary>
    public IReadOnlyList<double> Coefficients { get; }

    /// <summary>The constant c.</summary>
    public double Intercept { get; }

    /// <summary>σ of the innovations (residual standard deviation of the fit).</summary>
    public double NoiseStdDev { get; }

    /// <summary>The order p.</summary>
    [JsonIgnore]
    public int Order => Coefficients.Count;

    /// <summary>Fits AR(<paramref name="order"/>) by least squares on <paramref name="series"/>.</summary>
    /// <param name="series">The observations in time order; at least order + 2 values, all finite.</param>
    /// <param name="order">p ≥ 1.</param>
    /// <param name="fitIntercept">Whether to estimate c (otherwise c = 0).</param>
    public static AutoRegressiveModel Fit(ReadOnlySpan<double> series, int order, bool fitIntercept = true)
    {
        if (order < 1)
            throw new ArgumentOutOfRangeException(nameof(order), order, "The AR order must be at least 1.");
        int k = order + (fitIntercept ? 1 : 0);
        int rows = series.Length - order;
        if (rows < k + 1)
            throw new ArgumentException($"The series has {series.Length} values; AR({order}) needs at least {order + k + 1}.", nameof(series));
        for (int i = 0; i < series.Length; i++)
            if (!double.IsFinite(series[i]))
                throw new ArgumentException($"The series has a non-finite value ({series[i]}) at index {i}.", nameof(series));

        // Normal equations (XᵀX) β = Xᵀy with row t = [x_{t-1}, …, x_{t-p}, 1].
        var xtx = new double[k, k];
        var xty = new double[k];
        var row = new double[k];
        for (int t = order; t < series.Length; t++)
        {
            for (int j = 0; j < order; j++)
                row[j] = series[t - 1 - j];
            if (fitIntercept)
                row[order] = 1;
            for (int a = 0; a < k; a++)
            {
                xty[a] += row[a] * series[t];
                for (int b = 0; b < k; b++)
                    xtx[a, b] += row[a] * row[b];
            }
        }
        double[] beta = Solve(xtx, xty);

        double sse = 0;
        for (int t = order; t < series.Length; t++)
        {
            double prediction = fitIntercept ? beta[order] : 0;
            for (int j = 0; j < order; j++)
                prediction += beta[j] * series[t - 1 - j];
            double r = series[t] - prediction;
            sse += r * r;
        }
        double sigma = Math.Sqrt(sse / (rows - k));
        return new AutoRegressiveModel(beta[..order], fitIntercept ? beta[order] : 0, sigma);
    }

    /// <summary>The conditional mean of the next value given the history (most recent value last).</summary>
    /// <param name="history">At least <see cref="Order"/> past values.</param>
    public double PredictNext(ReadOnlySpan<double> history)
    {
        if (history.Length < Order)
            throw new ArgumentException($"AR({Order}) needs at least {Order} past values; got {history.Length}.", nameof(history));
        double value = Intercept;
        for (int j = 0; j < Order; j++)
            value += Coefficients[j] * history[history.Length - 1 - j];
        return value;
    }

    /// <summary>
    /// Continues the series for <paramref name="horizon"/> steps: the mean forecast when <paramref name="random"/> is
    /// null, otherwise a sample path with Gaussian innovations drawn from it.
    /// </summary>
    /// <param name="history">At least <see cref="Order"/> past values, most recent last.</param>
    /// <param name="horizon">Steps to generate.</param>
    /// <param name="random">Source of innovations, or null for the deterministic mean forecast.</param>
    public double[] Continue(ReadOnlySpan<double> history, int horizon, Random? random = null)
    {
        if (horizon < 0)
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "The horizon must be non-negative.");
        if (history.Length < Order)
            throw new ArgumentException($"AR({Order}) needs at least {Order} past values; got {history.Length}.", nameof(history));
        var window = new double[Order + horizon];
        history[^Order..].CopyTo(window);
        for (int h = 0; h < horizon; h++)
        {
            double next = PredictNext(window.AsSpan(0, Order + h));
            if (random != null)
                next += NoiseStdDev * StandardNormal(random);
            window[Order + h] = next;
        }
        return window[Order..];
    }

    /// <summary>The model as JSON (coefficients, intercept, noise).</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Reads a model written by <see cref="ToJson"/>.</summary>
    public static AutoRegressiveModel FromJson(string json)
        => JsonSerializer.Deserialize<AutoRegressiveModel>(json) ?? throw new ArgumentException("The JSON holds no AR model.", nameof(json));

    private static double StandardNormal(Random random)
    {
        // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Solves a small symmetric positive-definite system by Gaussian elimination with partial pivoting.</summary>
    private static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++)
                if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col]))
                    pivot = r;
            if (Math.Abs(m[pivot, col]) < 1e-12)
                throw new InvalidOperationException("The AR design matrix is singular: the series is constant or too short for this order.");
            if (pivot != col)
            {
                for (int c = 0; c < n; c++)
                    (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
                (x[col], x[pivot]) = (x[pivot], x[col]);
            }
            for (int r = col + 1; r < n; r++)
            {
                double f = m[r, col] / m[col, col];
                for (int c = col; c < n; c++)
                    m[r, c] -= f * m[col, c];
                x[r] -= f * x[col];
            }
        }
        for (int r = n - 1; r >= 0; r--)
        {
            double s = x[r];
            for (int c = r + 1; c < n; c++)
                s -= m[r, c] * x[c];
            x[r] = s / m[r, r];
        }
        return x;
    }
}
