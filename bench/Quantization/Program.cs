// Weight-only quantization (ONNX Runtime MatMulNBits) measured two ways; not part of the test run.
//   quality --model DIR [--chars 20000]
//       Quantizes a trained GPT-2 folder written by aigc (e.g. artifacts/quickstart/char-gpt/onnx) to q8 and q4 (block 32,
//       accuracy level 4, and level 0 = fp32 activations) and compares each with fp32: held-out perplexity on Tiny Shakespeare's last 10 % (first --chars
//       characters of it), greedy agreement over 200 new tokens from three prompts, and the largest logit difference on a prompt.
//   speed [--new-tokens 64] [--repeats 3] [--threads 0]
//       A GPT-2-small-shaped model (12 layers, 768 wide, vocab 50257; random weights, which do not change the speed) in
//       fp32, q8 and q4: file size, resident memory after load, time to first token of a 16-token prompt and greedy decode
//       tokens/s at batch 1 and 4. Every variant runs in a fresh child process, interleaved, best of --repeats.
// Usage: dotnet run -c Release --project bench/Quantization -- <command> [options]
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Quantization;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Evaluation.Text;

string command = args.Length > 0 ? args[0] : "speed";
string? Opt(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
int Int(string name, int fallback) => Opt(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
string cacheRoot = Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "aigc-mlnet", "bench", "quantization");
var variants = new (string Name, BlockQuantizationOptions? Options)[]
{
    ("fp32", null),
    ("q8-b32", new BlockQuantizationOptions { Bits = 8, BlockSize = 32, AccuracyLevel = 4 }),
    ("q4-b32", new BlockQuantizationOptions { Bits = 4, BlockSize = 32, AccuracyLevel = 4 }),
    ("q8-b32-acc0", new BlockQuantizationOptions { Bits = 8, BlockSize = 32, AccuracyLevel = 0 }),
    ("q4-b32-acc0", new BlockQuantizationOptions { Bits = 4, BlockSize = 32, AccuracyLevel = 0 }),
};

switch (command)
{
    case "quality": Quality(Opt("--model") ?? throw new ArgumentException("quality needs --model DIR"), Int("--chars", 20_000)); break;
    case "speed": Speed(Int("--new-tokens", 64), Int("--repeats", 3), Int("--threads", 0)); break;
    case "speed-one": SpeedOne(args[1], Int("--new-tokens", 64), Int("--threads", 0)); break;
    default: Console.Error.WriteLine("commands: quality --model DIR | speed"); return 2;
}
return 0;

void Quality(string model, int chars)
{
    string text = File.ReadAllText(DatasetPaths.TinyShakespeareFile);
    string heldOut = text[(int)(text.Length * 0.9)..];
    heldOut = heldOut[..Math.Min(chars, heldOut.Length)];
    string root = Path.Combine(cacheRoot, "quality-" + Path.GetFileName(Path.GetFullPath(model).TrimEnd('/')));
    if (Directory.Exists(root)) Directory.Delete(root, true);
    Directory.CreateDirectory(root);
    string[] prompts = ["ROMEO:\n", "First Citizen:\n", "KING HENRY:\n"];
    using var reference = CausalLM.Load(model);
    var refGen = new TextGenerator(reference);
    var greedy = new GenerationOptions { MaxNewTokens = 200, EosTokenIds = [] };
    var refTokens = prompts.Select(p => refGen.Generate(p, greedy)[0].TokenIds.ToArray()).ToArray();
    var refIds = reference.Tokenizer!.EncodeToIds("JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?");
    float[] refLogits = reference.ComputeLogits(refIds);
    double refPpl = Perplexity.Evaluate(reference, [heldOut]).Perplexity;
    long refBytes = Bytes(model);
    Console.WriteLine($"{DateTime.UtcNow:u}; model {model}; held-out: {heldOut.Length} characters of Tiny Shakespeare's last 10 %");
    Console.WriteLine("| weights | size | held-out perplexity | vs fp32 | greedy tokens equal to fp32 (3 × 200) | first divergence (tokens) | max |logit − fp32| |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
    Console.WriteLine(F($"| fp32 | {refBytes / 1e6:F2} MB | {refPpl:F4} | | | | |"));
    foreach (var (name, options) in variants.Skip(1))
    {
        string folder = Path.Combine(root, name);
        Gpt2Quantizer.QuantizeFolder(model, folder, options!);
        using var lm = CausalLM.Load(folder);
        var gen = new TextGenerator(lm);
        int equal = 0, firstDivergence = int.MaxValue;
        for (int p = 0; p < prompts.Length; p++)
        {
            var tokens = gen.Generate(prompts[p], greedy)[0].TokenIds;
            int same = 0;
            while (same < tokens.Count && tokens[same] == refTokens[p][same]) same++;
            firstDivergence = Math.Min(firstDivergence, same);
            equal += tokens.Zip(refTokens[p], (a, b) => a == b ? 1 : 0).Sum();
        }
        float[] logits = lm.ComputeLogits(refIds);
        double maxDiff = logits.Zip(refLogits, (a, b) => (double)Math.Abs(a - b)).Max();
        double ppl = Perplexity.Evaluate(lm, [heldOut]).Perplexity;
        Console.WriteLine(F($"| {name} | {Bytes(folder) / 1e6:F2} MB | {ppl:F4} | {ppl / refPpl - 1:+0.00 %;-0.00 %} | {equal} of 600 | {(firstDivergence == 200 ? "none" : firstDivergence.ToString(CultureInfo.InvariantCulture))} | {maxDiff:F4} |"));
    }
}

void Speed(int newTokens, int repeats, int threads)
{
    string fp32 = Path.Combine(cacheRoot, "gpt2-small-fp32");
    if (!File.Exists(Path.Combine(fp32, "onnx", "model.onnx")))
    {
        Console.WriteLine($"writing a random GPT-2-small-shaped model to {fp32} (once)...");
        var chars = Gpt2TokenizerFiles.Bpe(DatasetPaths.Gpt2VocabFile, DatasetPaths.Gpt2MergesFile);
        Gpt2Exporter.Export(Gpt2Weights.Random(Gpt2Config.Small, seed: 1), chars, fp32);
    }
    foreach (var (name, options) in variants.Skip(1))
    {
        string folder = Path.Combine(cacheRoot, "gpt2-small-" + name);
        if (!Directory.Exists(folder)) Gpt2Quantizer.QuantizeFolder(fp32, folder, options!);
    }
    Console.WriteLine($"{DateTime.UtcNow:u}, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}; {newTokens} new tokens, best of {repeats}, each run a fresh process");
    var best = new Dictionary<string, double[]>();
    string self = Environment.ProcessPath!;
    for (int r = 0; r < repeats; r++)
        foreach (var (name, _) in variants)
        {
            var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(Program).Assembly.Location);
            foreach (string a in new[] { "speed-one", Path.Combine(cacheRoot, "gpt2-small-" + name), "--new-tokens", newTokens.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(a);
            using var child = Process.Start(start)!;
            string line = child.StandardOutput.ReadToEnd().Trim();
            child.WaitForExit();
            var v = line.Split(' ').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            if (!best.TryGetValue(name, out var b)) best[name] = v;
            else best[name] = [b[0], Math.Min(b[1], v[1]), Math.Min(b[2], v[2]), Math.Max(b[3], v[3]), Math.Max(b[4], v[4])];
        }
    double fpB1 = best["fp32"][3], fpB4 = best["fp32"][4];
    Console.WriteLine("| weights | model files | RSS after load | time to first token | decode tok/s batch 1 | vs fp32 | decode tok/s batch 4 | vs fp32 |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
    foreach (var (name, _) in variants)
    {
        var v = best[name];
        Console.WriteLine(F($"| {name} | {Bytes(Path.Combine(cacheRoot, "gpt2-small-" + name)) / 1e6:F0} MB | {v[1]:F0} MB | {v[2]:F1} ms | {v[3]:F1} | {v[3] / fpB1:F2}x | {v[4]:F1} | {v[4] / fpB4:F2}x |"));
    }
}

// Child: prints "<unused> <rss MB after load> <ttft ms> <tok/s batch 1> <tok/s batch 4>".
void SpeedOne(string folder, int newTokens, int threads)
{
    using var lm = CausalLM.Load(folder, new CausalLMOptions { IntraOpNumThreads = threads });
    var gen = new TextGenerator(lm);
    using (var p = Process.GetCurrentProcess()) { p.Refresh(); }
    double rss = Process.GetCurrentProcess().WorkingSet64 / 1e6;
    var rng = new Random(5);
    int[] Prompt() => Enumerable.Range(0, 16).Select(_ => rng.Next(50000)).ToArray();
    gen.GenerateTokens(Prompt(), new GenerationOptions { MaxNewTokens = 4, EosTokenIds = [] }); // warm-up
    var ttft = Stopwatch.StartNew();
    gen.GenerateTokens(Prompt(), new GenerationOptions { MaxNewTokens = 1, EosTokenIds = [] });
    double ttftMs = ttft.Elapsed.TotalMilliseconds;
    double Rate(int batch)
    {
        var prompts = Enumerable.Range(0, batch).Select(_ => (IReadOnlyList<int>)Prompt()).ToArray();
        var one = Stopwatch.StartNew();
        gen.GenerateTokens(prompts, new GenerationOptions { MaxNewTokens = 1, EosTokenIds = [] });
        double prefill = one.Elapsed.TotalSeconds;
        var clock = Stopwatch.StartNew();
        gen.GenerateTokens(prompts, new GenerationOptions { MaxNewTokens = newTokens, EosTokenIds = [] });
        return batch * (newTokens - 1) / (clock.Elapsed.TotalSeconds - prefill);   // decode steps only
    }
    Console.WriteLine(F($"0 {rss:F1} {ttftMs:F2} {Rate(1):F2} {Rate(4):F2}"));
}

static long Bytes(string folder) => Directory.EnumerateFiles(folder, "*.onnx*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
