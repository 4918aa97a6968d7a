using System.Diagnostics;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>
/// One runtime at one batch size. TTFT = median time of a 1-new-token generation (prompt prefill + first token);
/// decode tokens/s = batch × (N − 1) / (median T(N) − median T(1)), i.e. decode steps only.
/// </summary>
internal sealed record Timing(string Runtime, string Model, int Batch, int NewTokens, int Reps, double TtftMs, double TotalMs,
    double DecodeTokensPerSecond, double[] T1Ms, double[] TnMs, string? Error = null)
{
    /// <summary>Decode milliseconds per step (all rows of the batch advance one token).</summary>
    public double DecodeMsPerStep => Batch * 1000.0 / DecodeTokensPerSecond;

    public static double Median(IReadOnlyList<double> values)
    {
        var s = values.OrderBy(v => v).ToArray();
        int m = s.Length / 2;
        return s.Length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }

    /// <summary>
    /// Times <paramref name="generate"/> (argument: new tokens wanted; result: new tokens produced for row 0), after
    /// <paramref name="warmup"/> unmeasured pairs, alternating T(1) and T(N) so drift hits both alike.
    /// </summary>
    public static Timing Measure(string runtime, string model, int batch, int newTokens, int reps, int warmup, Func<int, int> generate)
    {
        try
        {
            for (int i = 0; i < warmup; i++) { generate(1); generate(newTokens); }
            var t1 = new double[reps];
            var tn = new double[reps];
            for (int i = 0; i < reps; i++)
            {
                long start = Stopwatch.GetTimestamp();
                generate(1);
                t1[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                start = Stopwatch.GetTimestamp();
                int produced = generate(newTokens);
                tn[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (produced != newTokens)
                    throw new InvalidOperationException($"{runtime} produced {produced} new tokens, expected {newTokens}.");
            }
            double ttft = Median(t1), total = Median(tn);
            return new Timing(runtime, model, batch, newTokens, reps, ttft, total, batch * (newTokens - 1) / ((total - ttft) / 1000.0), t1, tn);
        }
        catch (Exception e)
        {
            return new Timing(runtime, model, batch, newTokens, reps, double.NaN, double.NaN, double.NaN, [], [], e.GetType().Name + ": " + e.Message);
        }
    }
}
