using System.Globalization;
using System.Text;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>Markdown tables for docs/BENCHMARKS.md: one per figure, with ratios and the targets of issue 9.</summary>
internal static class ReportWriter
{
    public const string Engine = "Aigc.MLNet engine";
    public const string EngineIdsOnly = "engine, ids only (no tokenizer)";
    public const string Raw = "raw ORT loop (C#)";
    public const string Js = "transformers.js";

    public static string Markdown(BenchResults r)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine(inv, $"Run {r.StartedUtc:yyyy-MM-dd HH:mm} UTC → {(r.FinishedUtc == default ? "(running)" : r.FinishedUtc.ToString("HH:mm", inv))} UTC. Machine: {string.Join("; ", r.Machine.Select(kv => $"{kv.Key}: {kv.Value}"))}.");
        md.AppendLine(inv, $"Settings: threads {r.Settings.Threads} (every runtime), {r.Settings.NewTokens} new tokens, median of {r.Settings.Reps} reps after {r.Settings.Warmup} warm-up, prompt \"{r.Settings.Prompt}\", greedy.");
        md.AppendLine();

        if (r.Bandwidth.Count > 0)
        {
            md.AppendLine("| streaming read | buffer | passes | best GB/s | median GB/s |");
            md.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var b in r.Bandwidth)
                md.AppendLine(inv, $"| {b.Threads} thread(s) | {b.BufferBytes >> 20} MiB | {b.Passes} | {b.BestBytesPerSecond / 1e9:F2} | {b.MedianBytesPerSecond / 1e9:F2} |");
            md.AppendLine();
        }

        foreach (var m in r.Models)
        {
            md.AppendLine(inv, $"**{m.Name}** ({m.ParameterBytes / 1e6:F1} MB of fp32 weights; {m.WeightBytesPerToken / 1e6:F1} MB read per decode step; prompt {m.PromptTokens} tokens). Peer: {m.Peer}.");
            md.AppendLine();
            md.AppendLine("| runtime | batch | TTFT ms | decode tok/s | best tok/s | ms/step | vs transformers.js | vs raw loop | vs bound |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (int batch in m.Timings.Select(t => t.Batch).Distinct().Order())
            {
                var js = Find(m, Js, batch);
                var raw = Find(m, Raw, batch);
                var bound = m.Bounds.FirstOrDefault(b => b.Batch == batch);
                foreach (var t in m.Timings.Where(t => t.Batch == batch).OrderBy(t => t.Runtime == Engine ? 0 : t.Runtime == EngineIdsOnly ? 1 : t.Runtime == Raw ? 2 : 3))
                {
                    if (t.Error is not null)
                    {
                        md.AppendLine(inv, $"| {t.Runtime} | {batch} | — | — | — | — | | | error: {t.Error.Replace('|', '/')} |");
                        continue;
                    }
                    md.AppendLine(inv, $"| {t.Runtime} | {batch} | {t.TtftMs:F1} | {t.DecodeTokensPerSecond:F1} | {t.BestDecodeTokensPerSecond:F1} | {t.DecodeMsPerStep:F1} | {Ratio(t, js)} | {Ratio(t, raw)} | {(bound is null ? "" : (t.DecodeTokensPerSecond / bound.TokensPerSecond).ToString("P0", inv))} |");
                }
                if (bound is not null)
                    md.AppendLine(inv, $"| bandwidth bound | {batch} | | {bound.TokensPerSecond:F1} | | {batch * 1000.0 / bound.TokensPerSecond:F1} | | | ({bound.BytesPerSecond / 1e9:F2} GB/s ÷ {bound.BytesPerStep / 1e6:F1} MB/step) |");
            }
            md.AppendLine();
            var e1 = Find(m, Engine, 1);
            if (e1 is not null)
            {
                var j1 = Find(m, Js, 1); var r1 = Find(m, Raw, 1); var b1 = m.Bounds.FirstOrDefault(b => b.Batch == 1);
                md.AppendLine(inv, $"Targets at batch 1 (issue 9, GPT-2-small shape): ≥1.3× transformers.js: {Target(e1, j1?.DecodeTokensPerSecond, 1.3)}; ≥0.97× raw loop: {Target(e1, r1?.DecodeTokensPerSecond, 0.97)}; ≥60 % of bound: {Target(e1, b1?.TokensPerSecond, 0.6)}.");
                md.AppendLine();
            }
            if (m.Profile is { } prof)
            {
                double bandwidth = r.Bandwidth.Count > 0 ? r.Bandwidth.Max(b => b.BestBytesPerSecond) : double.NaN;
                double gemm = prof.Operators.Where(o => o.OpType is "MatMul" or "Gemm" or "FusedMatMul" or "FusedGemm" or "MatMulNBits").Sum(o => o.MsPerStep);
                md.AppendLine(inv, $"ONNX Runtime profile, raw loop, batch {prof.Batch}, {prof.DecodeSteps} decode steps: {prof.RunMsPerStep:F2} ms per run, {prof.NodeMsPerStep:F2} ms inside kernels. Matrix products take {gemm:F2} ms/step, i.e. the weights stream at {m.WeightBytesPerToken / (gemm / 1000) / 1e9:F2} GB/s (streaming-read best: {bandwidth / 1e9:F2} GB/s).");
                md.AppendLine();
                md.AppendLine("| operator | ms/step | share | nodes/step |");
                md.AppendLine("|---|---:|---:|---:|");
                foreach (var o in prof.Operators.Take(10))
                    md.AppendLine(inv, $"| {o.OpType} | {o.MsPerStep:F3} | {o.Share:P1} | {o.NodesPerStep} |");
                md.AppendLine();
            }
            if (m.Check.Count > 0 || m.RawCheck.Count > 0)
            {
                md.AppendLine("| greedy continuation | prompt | prompt ids equal | new tokens | identical | first difference |");
                md.AppendLine("|---|---|---|---:|---|---:|");
                foreach (var c in m.Check.Concat(m.RawCheck))
                    md.AppendLine(inv, $"| {c.Pair} | {c.Prompt.Replace("|", "\\|")} | {(c.PromptIdsEqual ? "yes" : "NO")} | {c.Ours.Length} | {(c.Identical ? "yes" : "**NO**")} | {(c.FirstDifference < 0 ? "—" : c.FirstDifference.ToString(inv))} |");
                md.AppendLine();
            }
        }

        if (r.Concurrency.Count > 0)
        {
            md.AppendLine("| concurrency | threads | generations | equal to serial | mismatches | exceptions | serial gen/s | parallel gen/s |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var c in r.Concurrency)
                md.AppendLine(inv, $"| {c.Model} | {c.Threads} | {c.Jobs} | {c.Compared - c.Mismatches} | {c.Mismatches} | {c.Exceptions} | {c.Jobs / c.Threads / c.SerialSeconds:F2} | {c.Jobs / c.ParallelSeconds:F2} |");
            foreach (var c in r.Concurrency.Where(c => c.FirstProblem is not null))
                md.AppendLine(inv, $"\nFirst problem ({c.Model}): {c.FirstProblem}");
            md.AppendLine();
        }

        if (r.Soak is { } s)
        {
            md.AppendLine(inv, $"Soak: {s.Generations} generations ({s.NewTokens} new tokens, greedy and top-p sampling alternating) on {s.Model} through {s.Route}; {s.GenerationsPerSecond:F1} generations/s after warm-up.{(s.Error is null ? "" : " ERROR: " + s.Error)}");
            md.AppendLine();
            md.AppendLine("| phase | generations | managed MB | RSS MB | elapsed s |");
            md.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var p in s.Samples)
                md.AppendLine(inv, $"| {p.Phase} | {p.Generations} | {p.ManagedBytes / 1e6:F1} | {p.RssBytes / 1e6:F1} | {p.ElapsedSeconds:F1} |");
            md.AppendLine();
            md.AppendLine(inv, $"RSS growth from warm-up to end: {s.RssGrowthAfterWarmup:P1} (target < 5 %: {(s.RssGrowthAfterWarmup < 0.05 ? "met" : "MISSED")}); managed: {s.ManagedGrowthAfterWarmup:P1}.");
            md.AppendLine();
        }
        return md.ToString();
    }

    private static Timing? Find(ModelReport m, string runtime, int batch) => m.Timings.FirstOrDefault(t => t.Runtime == runtime && t.Batch == batch && t.Error is null);

    private static string Ratio(Timing t, Timing? reference) =>
        reference is null || ReferenceEquals(t, reference) ? "" : (t.DecodeTokensPerSecond / reference.DecodeTokensPerSecond).ToString("F2", CultureInfo.InvariantCulture) + "×";

    private static string Target(Timing engine, double? reference, double wanted)
    {
        if (reference is not double value) return "n/a";
        double ratio = engine.DecodeTokensPerSecond / value;
        return string.Create(CultureInfo.InvariantCulture, $"{ratio:F2} ({(ratio >= wanted ? "met" : "MISSED")})");
    }
}
