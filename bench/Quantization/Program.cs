// Weight-only quantization (ONNX Runtime MatMulNBits) measured two ways; not part of the test run.
//   quality --model DIR [--chars 20000]
//       Quantizes a trained GPT-2 folder written by aigc (e.g. artifacts/quickstart/char-gpt/onnx) to q8 and q4 (block 32,
//       accuracy level 4, and level 0 = fp32 activations) and compares each with fp32: held-out perplexity on Tiny Shakespeare's last 10 % (first --chars
//       characters of it), greedy agreement over 200 new tokens from three prompts, and the largest logit difference on a prompt.
//   speed [--new-tokens 64] [--repeats 3] [--threads 0] [--only fp32,q8-b32,...]
//       A GPT-2-small-shaped model (12 layers, 768 wide, vocab 50257; random weights, which do not change the speed) in
//       fp32, q8 and q4: file size, resident memory after load, time to first token of a 16-token prompt and greedy decode
//       tokens/s at batch 1 and 4. Every variant runs in a fresh child process, interleaved, best of --repeats.
//   peers [--new-tokens 64] [--repeats 3] [--threads 0] [--genai PATH]
//       Issue 15: the same random GPT-2-small weights in fp32, q8-b32 and q4-b32 (accuracy level 4) across runtimes, side
//       by side: this library's engine on the Optimum layout (engine-optimum) and on the ONNX Runtime GPT-2 layout
//       (engine-ortgpt2), a hand-written ONNX Runtime greedy loop on the Optimum file (raw-loop, bench/Aigc.MLNet.Bench.Peers'
//       RawOrtLoop) and ONNX Runtime GenAI on the ORT GPT-2 folder (genai: bench/OrtGenAi, its own process and project;
//       built first with `dotnet build bench/OrtGenAi -c Release` unless --genai names its .dll). Every cell runs in a
//       fresh child process, interleaved, best of --repeats; a cell that fails shows the first line of its stderr. The
//       batch-1 greedy ids of every cell are checked against engine-optimum's of the same weights.
//   profile [--precision fp32|q8-auto|q4-auto] [--new-tokens 64] [--batch 1] [--threads 0]
//       ONNX Runtime's profiler on the raw loop over the same weights in both layouts (Optimum, ORT GPT-2): milliseconds
//       per decode step by operator type side by side, with the number of nodes of each type that ran per step (the
//       graphs after ONNX Runtime's fusions). Where the stacked layout's time goes.
//   layouts [--rounds 6] [--precisions fp32,q8-auto,q4-auto] [--new-tokens 64] [--threads 0] [--inner 1]
//       The two layouts of the same weights, engine and raw loop on each: the four children interleaved round by round,
//       and per precision the median over rounds of the ratio ORT GPT-2 / Optimum (and its range), batch 1 and 4, and of
//       the engine against the raw loop on each file (decode rate and time to first token).
//   speed-one FOLDER | raw-one MODEL.onnx  [--new-tokens 64] [--threads 0] [--inner 1]
//       The children: one line "0 <rss MB after load> <ttft ms> <tok/s batch 1> <tok/s batch 4>" on stdout. raw-one
//       takes either layout. --inner K times K generations of each kind in the process and prints the best.
// Usage: dotnet run -c Release --project bench/Quantization -- <command> [options]
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Bench.Peers;
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
// --inner K: the children time K generations of each kind in-process (new prompts each) and print the best.
int inner = Math.Max(1, Int("--inner", 1));
string cacheRoot = Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "aigc-mlnet", "bench", "quantization");
var variants = new (string Name, BlockQuantizationOptions? Options)[]
{
    ("fp32", null),
    ("q8-b32", new BlockQuantizationOptions { Bits = 8, BlockSize = 32, AccuracyLevel = 4 }),
    ("q4-b32", new BlockQuantizationOptions { Bits = 4, BlockSize = 32, AccuracyLevel = 4 }),
    ("q4-b64", new BlockQuantizationOptions { Bits = 4, BlockSize = 64, AccuracyLevel = 4 }),
    ("q4-b128", new BlockQuantizationOptions { Bits = 4, BlockSize = 128, AccuracyLevel = 4 }),
    ("q8-b128", new BlockQuantizationOptions { Bits = 8, BlockSize = 128, AccuracyLevel = 4 }),
    ("q8-b32-acc0", new BlockQuantizationOptions { Bits = 8, BlockSize = 32, AccuracyLevel = 0 }),
    ("q4-b32-acc0", new BlockQuantizationOptions { Bits = 4, BlockSize = 32, AccuracyLevel = 0 }),
};

switch (command)
{
    case "quality": Quality(Opt("--model") ?? throw new ArgumentException("quality needs --model DIR"), Int("--chars", 20_000)); break;
    case "speed": Speed(Int("--new-tokens", 64), Int("--repeats", 3), Int("--threads", 0), Opt("--only")); break;
    case "speed-one": SpeedOne(args[1], Int("--new-tokens", 64), Int("--threads", 0)); break;
    case "peers": Peers(Int("--new-tokens", 64), Int("--repeats", 3), Int("--threads", 0), Opt("--genai")); break;
    case "raw-one": RawOne(args[1], Int("--new-tokens", 64), Int("--threads", 0)); break;
    case "layouts": Layouts(Int("--rounds", 6), Opt("--precisions") ?? "fp32,q8-auto,q4-auto", Int("--new-tokens", 64), Int("--threads", 0)); break;
    case "profile": Profile(Opt("--precision") ?? "fp32", Int("--new-tokens", 64), Int("--batch", 1), Int("--threads", 0)); break;
    default: Console.Error.WriteLine("commands: quality --model DIR | speed | peers | layouts | profile | speed-one FOLDER | raw-one MODEL.onnx"); return 2;
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
        Console.WriteLine(F($"| {name} | {Bytes(folder) / 1e6:F2} MB | {ppl:F4} | {(ppl / refPpl - 1) * 100:+0.00;-0.00;0.00} % | {equal} of 600 | {(firstDivergence == 200 ? "none" : firstDivergence.ToString(CultureInfo.InvariantCulture))} | {maxDiff:F4} |"));
    }
}

// The random GPT-2-small-shaped fp32 folder in `layout` (seed 1, so every layout holds the same weights) and its
// quantized variants, each written into the cache and rewritten when the exporter or quantizer changed since (a
// "<folder>.build" file beside each folder holds the Aigc.MLNet.Onnx build it came from); returns every variant's folder.
Dictionary<string, string> EnsureModels(string prefix, Gpt2OnnxLayout layout, IEnumerable<(string Name, BlockQuantizationOptions? Options)> which)
{
    string build = typeof(Gpt2Exporter).Assembly.ManifestModule.ModuleVersionId.ToString();   // deterministic: changes with the library's code
    bool Current(string folder) => Directory.Exists(folder) && File.Exists(folder + ".build") && File.ReadAllText(folder + ".build").Trim() == build;
    void Clear(string folder)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
        File.Delete(folder + ".build");
    }
    Directory.CreateDirectory(cacheRoot);
    string fp32 = Path.Combine(cacheRoot, prefix + "fp32");
    bool fp32Rewritten = false;
    if (!Current(fp32))
    {
        Console.Error.WriteLine($"writing a random GPT-2-small-shaped model ({layout} layout) to {fp32}...");
        Clear(fp32);
        var chars = Gpt2TokenizerFiles.Bpe(DatasetPaths.Gpt2VocabFile, DatasetPaths.Gpt2MergesFile);
        // ONNX Runtime's GPT-2 export (and GenAI's GPT-2 models) take int32 ids.
        var options = new Gpt2ExportOptions { Layout = layout, UseInt32Inputs = layout == Gpt2OnnxLayout.OnnxRuntimeGpt2 };
        // Written beside the cache folder and renamed, so an interrupted export never leaves a half folder behind.
        string staging = fp32 + ".tmp-" + Environment.ProcessId;
        if (Directory.Exists(staging)) Directory.Delete(staging, true);
        Gpt2Exporter.Export(Gpt2Weights.Random(Gpt2Config.Small, seed: 1), chars, staging, options);
        Directory.Move(staging, fp32);
        File.WriteAllText(fp32 + ".build", build);
        fp32Rewritten = true;
    }
    var folders = new Dictionary<string, string>();
    foreach (var (name, options) in which)
    {
        string folder = Path.Combine(cacheRoot, prefix + name);
        if (options is not null && (fp32Rewritten || !Current(folder)))
        {
            Console.Error.WriteLine($"quantizing {fp32} to {folder}...");
            Clear(folder);
            Gpt2Quantizer.QuantizeFolder(fp32, folder, options);
            File.WriteAllText(folder + ".build", build);
        }
        folders[name] = folder;
    }
    return folders;
}

void Speed(int newTokens, int repeats, int threads, string? only)
{
    // --only keeps the named variants (fp32 always: the ratios are against it).
    if (only is not null)
    {
        var names = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Append("fp32").ToHashSet();
        foreach (string n in names.Where(n => variants.All(v => v.Name != n)))
            throw new ArgumentException($"--only: unknown variant '{n}' (known: {string.Join(", ", variants.Select(v => v.Name))}).");
        variants = variants.Where(v => names.Contains(v.Name)).ToArray();
    }
    EnsureModels("gpt2-small-", Gpt2OnnxLayout.Optimum, variants);
    Console.WriteLine($"{DateTime.UtcNow:u}, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}; {newTokens} new tokens, best of {repeats}, each run a fresh process");
    var best = new Dictionary<string, double[]>();
    for (int r = 0; r < repeats; r++)
        foreach (var (name, _) in variants)
        {
            var v = RunChild("speed-one", Path.Combine(cacheRoot, "gpt2-small-" + name), newTokens, threads)
                ?? throw new InvalidOperationException($"speed-one {name} failed (its first stderr line is above).");
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

double Best(Func<int, double> rate, int batch)
{
    double best = 0;
    for (int i = 0; i < inner; i++) best = Math.Max(best, rate(batch));
    return best;
}

// Time to first token: the shortest of --inner timed runs of `firstToken` (a new prompt each).
double FastestMs(Action firstToken)
{
    double fastest = double.MaxValue;
    for (int i = 0; i < inner; i++)
    {
        var clock = Stopwatch.StartNew();
        firstToken();
        fastest = Math.Min(fastest, clock.Elapsed.TotalMilliseconds);
    }
    return fastest;
}

// Child: prints "<unused> <rss MB after load> <ttft ms> <tok/s batch 1> <tok/s batch 4>"; with --check also the batch-1
// prompt's new ids to stderr ("greedy-ids: ...").
void SpeedOne(string folder, int newTokens, int threads)
{
    using var lm = CausalLM.Load(folder, new CausalLMOptions { IntraOpNumThreads = threads });
    var gen = new TextGenerator(lm);
    using (var p = Process.GetCurrentProcess()) { p.Refresh(); }
    double rss = Process.GetCurrentProcess().WorkingSet64 / 1e6;
    var rng = new Random(5);
    int[] Prompt() => Enumerable.Range(0, 16).Select(_ => rng.Next(50000)).ToArray();
    Prompt(); // the draw the old 4-token warm-up took: the measured prompts stay the same
    // Warm-up at the measured lengths and batch sizes (prompts of their own), so the timed runs find ONNX Runtime's
    // arena and kernels as steady serving does; the same in raw-one and the ORT GenAI child.
    var warm = new Random(11);
    foreach (int batch in new[] { 1, 4 })
        gen.GenerateTokens(Enumerable.Range(0, batch).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, 16).Select(_ => warm.Next(50000)).ToArray()).ToArray(),
            new GenerationOptions { MaxNewTokens = newTokens, EosTokenIds = [] });
    double ttftMs = FastestMs(() => gen.GenerateTokens(Prompt(), new GenerationOptions { MaxNewTokens = 1, EosTokenIds = [] }));
    int[]? greedy = null;
    double Rate(int batch)
    {
        var prompts = Enumerable.Range(0, batch).Select(_ => (IReadOnlyList<int>)Prompt()).ToArray();
        var one = Stopwatch.StartNew();
        gen.GenerateTokens(prompts, new GenerationOptions { MaxNewTokens = 1, EosTokenIds = [] });
        double prefill = one.Elapsed.TotalSeconds;
        var clock = Stopwatch.StartNew();
        var result = gen.GenerateTokens(prompts, new GenerationOptions { MaxNewTokens = newTokens, EosTokenIds = [] });
        double rate = batch * (newTokens - 1) / (clock.Elapsed.TotalSeconds - prefill);   // decode steps only
        if (batch == 1 && args.Contains("--check")) greedy ??= [.. result[0].TokenIds];
        return rate;
    }
    Console.WriteLine(F($"0 {rss:F1} {ttftMs:F2} {Best(Rate, 1):F2} {Best(Rate, 4):F2}"));
    if (greedy is not null) Console.Error.WriteLine("greedy-ids: " + string.Join(' ', greedy));
}

// Child: speed-one's measurement on a hand-written ONNX Runtime greedy loop over an Optimum-layout .onnx file. Its batch
// is `batch` copies of the first of the batch's prompts (the same work per step); the prompts are still drawn in speed-one's order.
void RawOne(string modelFile, int newTokens, int threads)
{
    using var loop = new RawOrtLoop(modelFile, threads, Gpt2Config.Small.VocabSize);
    using (var p = Process.GetCurrentProcess()) { p.Refresh(); }
    double rss = Process.GetCurrentProcess().WorkingSet64 / 1e6;
    var rng = new Random(5);
    int[] Prompt() => Enumerable.Range(0, 16).Select(_ => rng.Next(50000)).ToArray();
    Prompt(); // the draw the old 4-token warm-up took
    var warm = new Random(11);   // warm-up at the measured lengths and batch sizes, as speed-one
    foreach (int batch in new[] { 1, 4 })
        loop.Generate(Enumerable.Range(0, 16).Select(_ => warm.Next(50000)).ToArray(), batch, newTokens);
    double ttftMs = FastestMs(() => loop.Generate(Prompt(), 1, 1));
    int[]? greedy = null;
    double Rate(int batch)
    {
        var prompts = Enumerable.Range(0, batch).Select(_ => Prompt()).ToArray();
        var one = Stopwatch.StartNew();
        loop.Generate(prompts[0], batch, 1);
        double prefill = one.Elapsed.TotalSeconds;
        var clock = Stopwatch.StartNew();
        var ids = loop.Generate(prompts[0], batch, newTokens);
        double rate = batch * (newTokens - 1) / (clock.Elapsed.TotalSeconds - prefill);   // decode steps only
        if (batch == 1) greedy ??= ids;
        return rate;
    }
    Console.WriteLine(F($"0 {rss:F1} {ttftMs:F2} {Best(Rate, 1):F2} {Best(Rate, 4):F2}"));
    if (args.Contains("--check")) Console.Error.WriteLine("greedy-ids: " + string.Join(' ', greedy!));
}

// The library's defaults for q8 and q4 (automatic block size: 128 for GPT-2's width; accuracy level 4) and fp32.
(string Name, BlockQuantizationOptions? Options)[] DefaultPrecisions() =>
    [variants[0], ("q8-auto", new BlockQuantizationOptions { Bits = 8 }), ("q4-auto", new BlockQuantizationOptions { Bits = 4 })];

// One child ("speed-one FOLDER" or "raw-one MODEL") in a fresh process: its five figures, or null with the reason on stderr.
double[]? RunChild(string command, string target, int newTokens, int threads, int repeatsInside = 1)
{
    string self = Environment.ProcessPath!;
    var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(Program).Assembly.Location);
    foreach (string a in new[] { command, target, "--new-tokens", newTokens.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture),
                                 "--inner", repeatsInside.ToString(CultureInfo.InvariantCulture) })
        start.ArgumentList.Add(a);
    using var child = Process.Start(start)!;
    var errors = child.StandardError.ReadToEndAsync();
    string line = child.StandardOutput.ReadToEnd().Trim();
    child.WaitForExit();
    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (child.ExitCode == 0 && fields.Length == 5) return fields.Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
    Console.Error.WriteLine($"{command} {target} failed (exit {child.ExitCode}): {errors.Result.Split('\n').FirstOrDefault()}");
    return null;
}

// This library writes the ORT GPT-2 layout's model.onnx at the top of the folder (as ONNX Runtime GenAI reads it).
static string ModelFile(string folder) =>
    File.Exists(Path.Combine(folder, "onnx", "model.onnx")) ? Path.Combine(folder, "onnx", "model.onnx") : Path.Combine(folder, "model.onnx");

void Layouts(int rounds, string precisionList, int newTokens, int threads)
{
    var known = DefaultPrecisions();
    var chosen = precisionList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(n => known.Any(p => p.Name == n) ? known.First(p => p.Name == n)
            : throw new ArgumentException($"--precisions: unknown '{n}' (known: {string.Join(", ", known.Select(k => k.Name))})."))
        .ToArray();
    var optimum = EnsureModels("gpt2-small-", Gpt2OnnxLayout.Optimum, chosen);
    var ortGpt2 = EnsureModels("gpt2-small-ortgpt2-", Gpt2OnnxLayout.OnnxRuntimeGpt2, chosen);
    Console.WriteLine($"{DateTime.UtcNow:u}, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}; {newTokens} new tokens, "
        + $"{rounds} rounds, each cell a fresh process timing {inner} generation(s) of each kind (its best), the four cells of a precision interleaved in every round");
    string[] cells = ["engine-optimum", "engine-ortgpt2", "raw-optimum", "raw-ortgpt2"];
    var results = new Dictionary<(string Precision, string Cell), List<double[]>>();
    for (int r = 0; r < rounds; r++)
        foreach (var (precision, _) in chosen)
            foreach (string cell in cells)
            {
                string folder = cell.EndsWith("optimum", StringComparison.Ordinal) ? optimum[precision] : ortGpt2[precision];
                var v = cell.StartsWith("engine", StringComparison.Ordinal)
                    ? RunChild("speed-one", folder, newTokens, threads, inner)
                    : RunChild("raw-one", ModelFile(folder), newTokens, threads, inner);
                if (v is null) continue;
                if (!results.TryGetValue((precision, cell), out var list)) results[(precision, cell)] = list = [];
                list.Add(v);
            }
    static double Median(IEnumerable<double> values)
    {
        var a = values.OrderBy(x => x).ToArray();
        return a.Length == 0 ? double.NaN : a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }
    Console.WriteLine("| weights | runtime | time to first token: Optimum / ORT GPT-2, median (best) | decode tok/s batch 1, median (best) | batch 4 | ORT GPT-2 / Optimum per round, batch 1: median (range) | batch 4 |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
    foreach (var (precision, _) in chosen)
        foreach (string runtime in new[] { "engine", "raw loop" })
        {
            string key = runtime == "engine" ? "engine" : "raw";
            results.TryGetValue((precision, key + "-optimum"), out var a);
            results.TryGetValue((precision, key + "-ortgpt2"), out var b);
            if (a is null || b is null || a.Count != b.Count) { Console.WriteLine($"| {precision} | {runtime} | failed rounds: see stderr | | | | |"); continue; }
            string Ratios(int field)
            {
                var ratios = a.Zip(b, (x, y) => y[field] / x[field]).ToArray();
                return F($"{Median(ratios):F3} ({ratios.Min():F2}–{ratios.Max():F2})");
            }
            string Rates(List<double[]> list, int field) => F($"{Median(list.Select(v => v[field])):F1} ({list.Max(v => v[field]):F1})");
            string Ttft(List<double[]> list) => F($"{Median(list.Select(v => v[2])):F1} ({list.Min(v => v[2]):F1}) ms");
            Console.WriteLine($"| {precision} | {runtime} | {Ttft(a)} / {Ttft(b)} | {Rates(a, 3)} / {Rates(b, 3)} | {Rates(a, 4)} / {Rates(b, 4)} | {Ratios(3)} | {Ratios(4)} |");
        }
    // The engine against the raw loop on the same file, round by round (time to first token: raw / engine, so above 1 means the engine is faster).
    Console.WriteLine();
    Console.WriteLine("| weights | layout | engine / raw loop decode per round, batch 1: median (range) | batch 4 | time to first token, raw / engine: median (range) |");
    Console.WriteLine("| --- | --- | --- | --- | --- |");
    foreach (var (precision, _) in chosen)
        foreach (string layout in new[] { "optimum", "ortgpt2" })
        {
            if (!results.TryGetValue((precision, "engine-" + layout), out var e) || !results.TryGetValue((precision, "raw-" + layout), out var w) || e.Count != w.Count) continue;
            string Ratios(Func<double[], double[], double> ratio)
            {
                var r = e.Zip(w, ratio).ToArray();
                return F($"{Median(r):F3} ({r.Min():F2}–{r.Max():F2})");
            }
            Console.WriteLine($"| {precision} | {layout} | {Ratios((x, y) => x[3] / y[3])} | {Ratios((x, y) => x[4] / y[4])} | {Ratios((x, y) => y[2] / x[2])} |");
        }
}

void Profile(string precision, int newTokens, int batch, int threads)
{
    var chosen = DefaultPrecisions().Where(p => p.Name == precision).ToArray();
    if (chosen.Length == 0) throw new ArgumentException($"--precision: expected one of {string.Join(", ", DefaultPrecisions().Select(p => p.Name))}, got '{precision}'.");
    var layouts = new (string Name, string Folder)[]
    {
        ("optimum", EnsureModels("gpt2-small-", Gpt2OnnxLayout.Optimum, chosen)[precision]),
        ("ortgpt2", EnsureModels("gpt2-small-ortgpt2-", Gpt2OnnxLayout.OnnxRuntimeGpt2, chosen)[precision]),
    };
    string output = Path.Combine(cacheRoot, "profiles");
    Directory.CreateDirectory(output);
    var prompt = Enumerable.Range(0, 16).Select(i => (i * 7919 + 13) % 50000).ToArray();
    Console.WriteLine($"{DateTime.UtcNow:u}, load {File.ReadAllText("/proc/loadavg").Trim()}; raw loop, {precision}, batch {batch}, 16-token prompt, {newTokens} new tokens, ONNX Runtime profiler on");
    var profiles = new List<Aigc.MLNet.Bench.Peers.StepProfile>();
    foreach (var (name, folder) in layouts)
    {
        string model = ModelFile(folder);
        // The profile counts the decode steps only (the prefill run is left out).
        profiles.Add(Aigc.MLNet.Bench.Peers.OrtProfile.Measure($"{name}-{precision}", model, Gpt2Config.Small.VocabSize, threads, prompt, batch, newTokens, output));
    }
    Console.WriteLine($"| operator | {string.Join(" | ", layouts.Select(l => l.Name + " ms/step | nodes"))} |");
    Console.WriteLine($"| --- |{string.Concat(Enumerable.Repeat(" ---: | ---: |", layouts.Length))}");
    var ops = profiles.SelectMany(p => p.Operators).GroupBy(o => o.OpType).OrderByDescending(g => g.Max(o => o.MsPerStep)).Select(g => g.Key);
    foreach (string op in ops)
    {
        var cells = profiles.Select(p => p.Operators.FirstOrDefault(o => o.OpType == op) is { } o ? F($"{o.MsPerStep:F3} | {o.NodesPerStep}") : "0 | 0");
        Console.WriteLine($"| {op} | {string.Join(" | ", cells)} |");
    }
    Console.WriteLine($"| all nodes | {string.Join(" | ", profiles.Select(p => F($"{p.NodeMsPerStep:F3} | {p.Operators.Sum(o => o.NodesPerStep)}")))} |");
    Console.WriteLine($"| model_run | {string.Join(" | ", profiles.Select(p => F($"{p.RunMsPerStep:F3} |")))} |");
    Console.WriteLine("Traces: " + string.Join(", ", profiles.Select(p => p.TraceFile)));
}

void Peers(int newTokens, int repeats, int threads, string? genaiDll)
{
    var precisions = DefaultPrecisions();
    var optimum = EnsureModels("gpt2-small-", Gpt2OnnxLayout.Optimum, precisions);
    var ortGpt2 = EnsureModels("gpt2-small-ortgpt2-", Gpt2OnnxLayout.OnnxRuntimeGpt2, precisions);
    genaiDll ??= BuildGenAi();
    string self = Environment.ProcessPath!;
    bool selfIsDotnet = Path.GetFileNameWithoutExtension(self) == "dotnet";
    string n = newTokens.ToString(CultureInfo.InvariantCulture), t = threads.ToString(CultureInfo.InvariantCulture);
    string[] runtimes = ["engine-optimum", "engine-ortgpt2", "raw-loop", "genai"];
    ProcessStartInfo Start(string runtime, string precision)
    {
        var start = new ProcessStartInfo(runtime == "genai" && !selfIsDotnet ? "dotnet" : self)
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (runtime == "genai") start.ArgumentList.Add(genaiDll ?? "(bench/OrtGenAi was not built)");
        else if (selfIsDotnet) start.ArgumentList.Add(typeof(Program).Assembly.Location);
        string[] command = runtime switch
        {
            "engine-optimum" => ["speed-one", optimum[precision], "--check"],
            "engine-ortgpt2" => ["speed-one", ortGpt2[precision], "--check"],
            "raw-loop" => ["raw-one", Path.Combine(optimum[precision], "onnx", "model.onnx"), "--check"],
            _ => [ortGpt2[precision]],
        };
        foreach (string a in command.Concat(["--new-tokens", n, "--threads", t])) start.ArgumentList.Add(a);
        return start;
    }

    Console.WriteLine($"{DateTime.UtcNow:u}, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}; {newTokens} new tokens, "
        + $"best of {repeats}, each cell a fresh process, intra-op threads {(threads > 0 ? t : "ONNX Runtime's default")}; "
        + $"library ONNX Runtime {typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version}");
    var best = new Dictionary<(string, string), double[]>();
    var failures = new Dictionary<(string, string), (int Count, string First)>();
    var greedy = new Dictionary<(string, string), int[]>();
    string? genaiInfo = null;
    for (int r = 0; r < repeats; r++)
        foreach (var (precision, _) in precisions)
            foreach (string runtime in runtimes)
            {
                var key = (precision, runtime);
                double[]? v = null;
                string stderr = "";
                try
                {
                    using var child = Process.Start(Start(runtime, precision))!;
                    var errors = child.StandardError.ReadToEndAsync();
                    string line = child.StandardOutput.ReadToEnd().Trim();
                    child.WaitForExit();
                    stderr = errors.Result;
                    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (child.ExitCode == 0 && fields.Length == 5)
                        v = fields.Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                    else if (stderr.Trim().Length == 0)
                        stderr = $"exit code {child.ExitCode}, stdout '{line}'";
                }
                catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or FormatException)
                {
                    stderr = $"{e.GetType().Name}: {e.Message}";
                }
                var lines = stderr.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                if (runtime == "genai") genaiInfo ??= lines.FirstOrDefault(l => l.StartsWith("info:", StringComparison.Ordinal));
                if (v is null)
                {
                    string first = lines.FirstOrDefault(l => !l.StartsWith("info:", StringComparison.Ordinal) && !l.StartsWith("greedy-ids:", StringComparison.Ordinal)) ?? "(no stderr)";
                    failures[key] = failures.TryGetValue(key, out var f) ? (f.Count + 1, f.First) : (1, first);
                    Console.Error.WriteLine($"{precision} {runtime} failed: {first}");
                    continue;
                }
                if (!greedy.ContainsKey(key) && lines.FirstOrDefault(l => l.StartsWith("greedy-ids:", StringComparison.Ordinal)) is { } ids)
                    greedy[key] = ids["greedy-ids:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                best[key] = best.TryGetValue(key, out var b)
                    ? [b[0], Math.Min(b[1], v[1]), Math.Min(b[2], v[2]), Math.Max(b[3], v[3]), Math.Max(b[4], v[4])]
                    : v;
            }

    double fpB1 = best.TryGetValue(("fp32", "engine-optimum"), out var fp) ? fp[3] : double.NaN, fpB4 = fp?[4] ?? double.NaN;
    string Ratio(double value, double reference) => double.IsNaN(reference) ? "n/a" : F($"{value / reference:F2}x");
    Console.WriteLine("| weights | runtime | RSS after load | time to first token | decode tok/s batch 1 | vs engine-optimum fp32 | decode tok/s batch 4 | vs engine-optimum fp32 |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
    foreach (var (precision, _) in precisions)
        foreach (string runtime in runtimes)
        {
            if (best.TryGetValue((precision, runtime), out var v))
                Console.WriteLine(F($"| {precision} | {runtime} | {v[1]:F0} MB | {v[2]:F1} ms | {v[3]:F1} | {Ratio(v[3], fpB1)} | {v[4]:F1} | {Ratio(v[4], fpB4)} |"));
            else
                Console.WriteLine($"| {precision} | {runtime} | failed: {failures[(precision, runtime)].First.Replace("|", "\\|", StringComparison.Ordinal)} | | | | | |");
        }
    foreach (var ((precision, runtime), (count, first)) in failures.Where(f => best.ContainsKey(f.Key)))
        Console.WriteLine($"{precision} {runtime}: {count} of {repeats} runs failed ({first}); the row is the best of the others.");

    // Greedy equality: row 0 of every cell's batch-1 run against engine-optimum's on the same weights.
    var checks = new List<string>();
    foreach (var (precision, _) in precisions)
    {
        if (!greedy.TryGetValue((precision, "engine-optimum"), out var reference)) { checks.Add($"{precision}: no engine-optimum ids"); continue; }
        var parts = new List<string>();
        foreach (string runtime in runtimes.Skip(1))
        {
            if (!greedy.TryGetValue((precision, runtime), out var ids)) { parts.Add($"{runtime} no ids"); continue; }
            int same = 0;
            while (same < ids.Length && same < reference.Length && ids[same] == reference[same]) same++;
            parts.Add(same == reference.Length && ids.Length == reference.Length ? $"{runtime} equal" : $"{runtime} MISMATCH from new token {same}");
        }
        checks.Add($"{precision}: {string.Join(", ", parts)}");
    }
    Console.WriteLine($"Greedy ids of the batch-1 prompt ({newTokens} new tokens) vs engine-optimum on the same weights: {string.Join("; ", checks)}.");
    if (genaiInfo is not null) Console.WriteLine("genai " + genaiInfo);
}

// Builds bench/OrtGenAi (Release) in the repository this program was built from; returns its .dll, or null when it cannot.
string? BuildGenAi()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aigc.MLNet.sln"))) dir = dir.Parent;
    if (dir is null) { Console.Error.WriteLine("genai: repository not found above " + AppContext.BaseDirectory + "; pass --genai PATH/Aigc.MLNet.Bench.OrtGenAi.dll"); return null; }
    string project = Path.Combine(dir.FullName, "bench", "OrtGenAi");
    string dll = Path.Combine(project, "bin", "Release", "net10.0", "Aigc.MLNet.Bench.OrtGenAi.dll");
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (string a in new[] { "build", project, "-c", "Release", "--nologo", "-v", "q" }) start.ArgumentList.Add(a);
    Console.Error.WriteLine($"building {project} (Release)...");
    using var build = Process.Start(start)!;
    var errors = build.StandardError.ReadToEndAsync();
    string output = build.StandardOutput.ReadToEnd();
    build.WaitForExit();
    if (build.ExitCode != 0) Console.Error.WriteLine($"dotnet build bench/OrtGenAi failed:\n{output}{errors.Result}");
    return File.Exists(dll) ? dll : null;
}

static long Bytes(string folder) => Directory.EnumerateFiles(folder, "*.onnx*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
