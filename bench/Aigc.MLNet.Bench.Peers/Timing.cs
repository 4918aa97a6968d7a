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
    /// Times every runtime's <c>generate</c> (argument: new tokens wanted; result: new tokens produced for row 0) after
    /// <paramref name="warmup"/> unmeasured pairs each. Runtimes take turns inside every repetition, and T(1) alternates
    /// with T(N), so load changes on a shared machine hit all of them alike.
    /// </summary>
    public static List<Timing> MeasureInterleaved(string model, int batch, int newTokens, int reps, int warmup,
        IReadOnlyList<(string Runtime, Func<int, (int Produced, double? Ms)> Generate)> runtimes)
    {
        var t1 = runtimes.Select(_ => new double[reps]).ToArray();
        var tn = runtimes.Select(_ => new double[reps]).ToArray();
        var errors = new string?[runtimes.Count];
        for (int i = -warmup; i < reps; i++)
            for (int k = 0; k < runtimes.Count; k++)
            {
                if (errors[k] is not null) continue;
                var (runtime, generate) = runtimes[k];
                try
                {
                    // A runtime in another process reports its own time (no pipe round trip in the figure).
                    long start = Stopwatch.GetTimestamp();
                    var (_, ownFirst) = generate(1);
                    double first = ownFirst ?? Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    start = Stopwatch.GetTimestamp();
                    var (produced, ownAll) = generate(newTokens);
                    double all = ownAll ?? Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    if (produced != newTokens)
                        throw new InvalidOperationException($"{runtime} produced {produced} new tokens, expected {newTokens}.");
                    if (i >= 0) { t1[k][i] = first; tn[k][i] = all; }
                }
                catch (Exception e)
                {
                    errors[k] = e.GetType().Name + ": " + e.Message;
                }
            }
        var list = new List<Timing>();
        for (int k = 0; k < runtimes.Count; k++)
        {
            if (errors[k] is { } error)
            {
                list.Add(new Timing(runtimes[k].Runtime, model, batch, newTokens, reps, double.NaN, double.NaN, double.NaN, [], [], error));
                continue;
            }
            double ttft = Median(t1[k]), total = Median(tn[k]);
            list.Add(new Timing(runtimes[k].Runtime, model, batch, newTokens, reps, ttft, total, batch * (newTokens - 1) / ((total - ttft) / 1000.0), t1[k], tn[k]));
        }
        return list;
    }

    /// <summary>Decode tokens/s from the fastest T(N) and fastest T(1): the least disturbed figure on a loaded machine.</summary>
    public double BestDecodeTokensPerSecond => T1Ms.Length == 0 ? double.NaN : Batch * (NewTokens - 1) / ((TnMs.Min() - T1Ms.Min()) / 1000.0);
}
