// ONNX Runtime GenAI's decode speed on one ORT-GPT-2-layout folder (model.onnx + genai_config.json), one measurement per
// process; the child of bench/Quantization's `peers` command (issue 15), kept in its own project so GenAI's native
// libraries never share a process with the library's ONNX Runtime.
//   <folder> [--new-tokens 64] [--threads 0]
// stdout: exactly one line, as bench/Quantization's speed-one child:
//   0 <rss MB after load> <ttft ms> <decode tok/s batch 1> <decode tok/s batch 4>
// stderr: diagnostics, and "greedy-ids: ..." = the new ids of the batch-1 prompt, for the parent's equality check.
// Prompts: 16 random ids from new Random(5), drawn in speed-one's order (warm-up, time-to-first-token, batch 1, batch 4).
// Greedy, no EOS stop: min_length = max_length = prompt + new tokens, so exactly that many tokens come out.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntimeGenAI;

const int PromptLength = 16;
string? Opt(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
int Int(string name, int fallback) => Opt(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
{
    Console.Error.WriteLine("usage: Aigc.MLNet.Bench.OrtGenAi <folder> [--new-tokens 64] [--threads 0]");
    return 2;
}
string folder = args[0];
int newTokens = Int("--new-tokens", 64), threads = Int("--threads", 0);
if (newTokens < 2) { Console.Error.WriteLine("--new-tokens must be at least 2 (the decode rate leaves the first token out)"); return 2; }

try
{
    using var handle = new OgaHandle();   // shuts GenAI down once everything below is disposed
    using var config = new Config(folder);
    // The session options come from genai_config.json; an overlay sets the threads without touching the folder.
    if (threads > 0)
        config.Overlay(new JsonObject
        {
            ["model"] = new JsonObject { ["decoder"] = new JsonObject { ["session_options"] = new JsonObject { ["intra_op_num_threads"] = threads } } },
        }.ToJsonString());
    using var model = new Model(config);
    double rss;
    using (var self = Process.GetCurrentProcess()) { self.Refresh(); rss = self.WorkingSet64 / 1e6; }
    Console.Error.WriteLine($"info: ONNX Runtime GenAI loaded '{folder}' (model type {model.GetModelType()}), {(threads > 0 ? threads.ToString(CultureInfo.InvariantCulture) : "default")} intra-op threads");

    var rng = new Random(5);
    int[] Prompt() => [.. Enumerable.Range(0, PromptLength).Select(_ => rng.Next(50000))];

    // Greedy continuation of every prompt (all the same length); returns each row's new ids.
    int[][] Generate(int[][] prompts, int count)
    {
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("batch_size", prompts.Length);
        parameters.SetSearchOption("do_sample", false);
        parameters.SetSearchOption("num_beams", 1);
        parameters.SetSearchOption("max_length", PromptLength + count);
        parameters.SetSearchOption("min_length", PromptLength + count);
        using var generator = new Generator(model, parameters);
        // The batch goes in as one [batch, prompt] block, row after row.
        generator.AppendTokens(prompts.SelectMany(p => p).ToArray());
        while (!generator.IsDone()) generator.GenerateNextToken();
        var rows = new int[prompts.Length][];
        for (int r = 0; r < prompts.Length; r++)
        {
            var sequence = generator.GetSequence((ulong)r);
            if (sequence.Length != PromptLength + count)
                throw new InvalidOperationException($"row {r} has {sequence.Length} ids, expected {PromptLength} + {count}");
            rows[r] = sequence[PromptLength..].ToArray();
        }
        return rows;
    }

    Prompt();   // the draw the old 4-token warm-up took: the measured prompts stay the same
    var warm = new Random(11);   // warm-up at the measured lengths and batch sizes, as speed-one
    foreach (int batch in new[] { 1, 4 })
        Generate(Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, PromptLength).Select(_ => warm.Next(50000)).ToArray()).ToArray(), newTokens);
    var ttft = Stopwatch.StartNew();
    Generate([Prompt()], 1);
    double ttftMs = ttft.Elapsed.TotalMilliseconds;
    double Rate(int batch)
    {
        var prompts = Enumerable.Range(0, batch).Select(_ => Prompt()).ToArray();
        var one = Stopwatch.StartNew();
        Generate(prompts, 1);
        double prefill = one.Elapsed.TotalSeconds;
        var clock = Stopwatch.StartNew();
        var rows = Generate(prompts, newTokens);
        double rate = batch * (newTokens - 1) / (clock.Elapsed.TotalSeconds - prefill);   // decode steps only
        if (batch == 1) Console.Error.WriteLine("greedy-ids: " + string.Join(' ', rows[0]));
        return rate;
    }
    double b1 = Rate(1), b4 = Rate(4);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"0 {rss:F1} {ttftMs:F2} {b1:F2} {b4:F2}"));
    return 0;
}
catch (Exception e)
{
    // One line the parent can print in its table.
    Console.Error.WriteLine($"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
    return 1;
}
