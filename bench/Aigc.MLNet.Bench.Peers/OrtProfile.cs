using System.Text.Json;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>Time per decode step spent in one ONNX operator type, from ONNX Runtime's own profiler.</summary>
internal sealed record OperatorTime(string OpType, double MsPerStep, double Share, int NodesPerStep);

/// <summary>Where a decode step's time goes inside ONNX Runtime (the raw loop, profiled on a session of its own; either layout).</summary>
internal sealed record StepProfile(string Model, int Batch, int DecodeSteps, double RunMsPerStep, double NodeMsPerStep, OperatorTime[] Operators, string TraceFile);

internal static class OrtProfile
{
    /// <summary>Runs one profiled greedy generation of a GPT-2 file <see cref="RawOrtLoop"/> runs and sums node durations per operator type over the decode steps (the prefill run is left out).</summary>
    public static StepProfile Measure(string modelName, string modelFile, int vocab, int threads, IReadOnlyList<int> prompt, int batch, int newTokens, string folder)
    {
        string prefix = Path.Combine(Path.GetFullPath(folder), $"ort-profile-{modelName}-b{batch}");
        string trace;
        using (var raw = new RawOrtLoop(modelFile, threads, vocab, prefix))
        {
            raw.Generate(prompt, batch, newTokens);
            trace = raw.EndProfiling();
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(trace));
        var events = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement : doc.RootElement.GetProperty("traceEvents");
        var runs = new List<(long Ts, long Dur)>();
        var nodes = new List<(long Ts, long Dur, string Op)>();
        foreach (var e in events.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || !e.TryGetProperty("dur", out var dur)) continue;
            string name = e.GetProperty("name").GetString() ?? "";
            long ts = e.GetProperty("ts").GetInt64();
            if (cat.GetString() == "Session" && name == "model_run") runs.Add((ts, dur.GetInt64()));
            else if (cat.GetString() == "Node" && name.EndsWith("_kernel_time", StringComparison.Ordinal)
                && e.TryGetProperty("args", out var args) && args.TryGetProperty("op_name", out var op))
                nodes.Add((ts, dur.GetInt64(), op.GetString() ?? "?"));
        }
        runs.Sort();
        if (runs.Count < 2) throw new InvalidDataException($"'{trace}' holds {runs.Count} model runs; expected the prefill and at least one decode step.");
        long decodeStart = runs[1].Ts;
        int steps = runs.Count - 1;
        var decodeNodes = nodes.Where(n => n.Ts >= decodeStart).ToList();
        double total = decodeNodes.Sum(n => n.Dur) / 1000.0 / steps;
        var ops = decodeNodes.GroupBy(n => n.Op)
            .Select(g => new OperatorTime(g.Key, g.Sum(n => n.Dur) / 1000.0 / steps, g.Sum(n => n.Dur) / 1000.0 / steps / total, g.Count() / steps))
            .OrderByDescending(o => o.MsPerStep).ToArray();
        return new StepProfile(modelName, batch, steps, runs.Skip(1).Average(r => r.Dur) / 1000.0, total, ops, trace);
    }
}
