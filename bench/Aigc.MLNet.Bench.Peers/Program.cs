using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aigc.MLNet.Bench.Peers;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

BenchSettings settings;
try
{
    settings = BenchSettings.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return args.Contains("--help") || args.Contains("-h") ? 0 : 2;
}

Directory.CreateDirectory(settings.Output);
if (settings.SoakOnly)
{
    SoakRun.Run(settings, BenchModel.Ensure(settings.SoakModel, settings.Seed));
    return 0;
}
var results = new BenchResults { Settings = settings, StartedUtc = DateTime.UtcNow, Machine = MachineInfo.Describe(settings.Threads) };
var models = new Dictionary<string, BenchModel>();
BenchModel Model(string key) => models.TryGetValue(key, out var m) ? m : models[key] = BenchModel.Ensure(key, settings.Seed);
void Log(string message) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}");

if (!settings.Skip.Contains("bandwidth"))
{
    foreach (int t in new[] { 1, settings.Threads }.Distinct())
    {
        Log($"memory bandwidth, {t} thread(s), {settings.BandwidthBytes >> 20} MiB x {settings.BandwidthPasses} passes");
        results.Bandwidth.Add(MemoryBandwidth.Measure(t, settings.BandwidthBytes, settings.BandwidthPasses));
    }
}

string checkPromptsFile = Path.GetFullPath(Path.Combine(settings.Output, "check-prompts.json"));
string[] checkPrompts = SoakAndConcurrency.Prompts[..6];
File.WriteAllText(checkPromptsFile, JsonSerializer.Serialize(checkPrompts));
string? jsDir = PeerJs.FindScriptFolder(settings.JsDir);

foreach (string name in settings.Models)
{
    var model = Model(name);
    var report = new ModelReport { Name = model.Name, Folder = model.Folder, ParameterBytes = model.ParameterBytes, WeightBytesPerToken = model.WeightBytesPerToken };
    results.Models.Add(report);

    JsonObject js = new() { ["error"] = "skipped (--skip js)" };
    using var jsServer = settings.Skip.Contains("js") ? null
        : PeerJsServer.TryStart(jsDir, model, settings, checkPromptsFile, Path.GetFullPath(Path.Combine(settings.Output, $"js-{model.Name}.json")), out js);
    if (!settings.Skip.Contains("js")) Log($"{model.Name}: transformers.js {(jsServer is null ? "did not start: " + js["error"] : "loaded (serving timing requests)")}");
    report.Peer = PeerJs.Describe(js);

    var ours = new List<(string Prompt, int[] PromptIds, int[] NewIds)>();
    bool runEngine = !settings.Skip.Contains("engine"), runRaw = !settings.Skip.Contains("raw");
    using var lm = runEngine ? CausalLM.Load(model.Folder, new CausalLMOptions { IntraOpNumThreads = settings.Threads }) : null;
    using var raw = runRaw ? new RawOrtLoop(model.ModelFile, settings.Threads, model.Config.VocabSize) : null;
    // Without a tokenizer the engine keeps no per-row text state: the difference isolates streaming detokenization's cost.
    using var idsOnly = runEngine && !settings.Skip.Contains("ids-only")
        ? CausalLM.Load(model.Folder, new CausalLMOptions { IntraOpNumThreads = settings.Threads, LoadTokenizer = false }) : null;
    var tokenizer = lm?.Tokenizer ?? Aigc.MLNet.Onnx.Tokenization.AutoTokenizer.FromFolder(model.Folder);
    int[] promptIds = [.. tokenizer.EncodeToIds(settings.Prompt)];
    report.PromptTokens = promptIds.Length;
    var generator = lm is null ? null : new TextGenerator(lm);
    if (generator is not null)
    {
        Log($"{model.Name}: engine greedy continuations");
        foreach (string prompt in checkPrompts)
        {
            var ids = tokenizer.EncodeToIds(prompt).ToArray();
            var produced = generator.GenerateTokens(ids, new GenerationOptions { MaxNewTokens = settings.CheckTokens })[0].TokenIds.ToArray();
            ours.Add((prompt, ids, produced));
        }
    }
    if (raw is not null)
        foreach (var (prompt, ids, produced) in ours)
            report.RawCheck.Add(new CheckRow("raw loop vs engine", prompt, true, raw.Generate(ids, 1, settings.CheckTokens), produced));

    foreach (int batch in settings.Batches)
    {
        Log($"{model.Name}: transformers.js, engine and raw ONNX Runtime loop, batch {batch}, interleaved");
        var prompts = Enumerable.Repeat<IReadOnlyList<int>>(promptIds, batch).ToArray();
        var runtimes = new List<(string, Func<int, (int, double?)>)>();
        if (jsServer is not null)
            runtimes.Add((ReportWriter.Js, n => jsServer.Generate(batch, n)));
        if (generator is not null)
            runtimes.Add((ReportWriter.Engine, n => (generator.GenerateTokens(prompts, new GenerationOptions { MaxNewTokens = n, MinNewTokens = n })[0].TokenIds.Count, null)));
        if (idsOnly is not null)
        {
            var idsGenerator = new TextGenerator(idsOnly);
            runtimes.Add((ReportWriter.EngineIdsOnly, n => (idsGenerator.GenerateTokens(prompts, new GenerationOptions { MaxNewTokens = n, MinNewTokens = n })[0].TokenIds.Count, null)));
        }
        if (raw is not null)
            runtimes.Add((ReportWriter.Raw, n => (raw.Generate(promptIds, batch, n).Length, null)));
        report.Timings.AddRange(Timing.MeasureInterleaved(model.Name, batch, settings.NewTokens, settings.Reps, settings.Warmup, runtimes));
    }


    if (runRaw && !settings.Skip.Contains("profile"))
    {
        Log($"{model.Name}: ONNX Runtime profile of the raw loop, batch 1");
        try
        {
            report.Profile = OrtProfile.Measure(model.Name, model.ModelFile, model.Config.VocabSize, settings.Threads, promptIds, 1, Math.Min(settings.NewTokens, 32), settings.Output);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            Log($"{model.Name}: profile failed: {e.Message}");
        }
    }

    var theirs = PeerJs.CheckEntries(js);
    foreach (var (prompt, ids, produced) in ours)
    {
        var peer = theirs.FirstOrDefault(t => t.Prompt == prompt);
        if (peer.Prompt is null) continue;
        report.Check.Add(new CheckRow("engine vs transformers.js", prompt, ids.AsSpan().SequenceEqual(peer.PromptIds), produced, peer.NewIds));
    }

    // The bound: the best multi-thread read rate over the bytes one decode step streams (weights + the average cache).
    if (results.Bandwidth.Count > 0)
    {
        double bandwidth = results.Bandwidth.Max(b => b.BestBytesPerSecond);
        int averagePositions = report.PromptTokens + settings.NewTokens / 2;
        foreach (int batch in settings.Batches)
        {
            long bytes = model.WeightBytesPerToken + batch * model.CacheBytesPerToken(averagePositions);
            report.Bounds.Add(new Bound(batch, bandwidth, bytes, batch * bandwidth / bytes));
        }
    }
    WriteResults(results, settings.Output);
}

if (!settings.Skip.Contains("concurrency"))
{
    foreach (string name in settings.Models.Distinct())
    {
        var model = Model(name);
        Log($"{model.Name}: concurrency, {settings.ConcurrencyThreads} threads on one model");
        using var lm = CausalLM.Load(model.Folder, new CausalLMOptions { IntraOpNumThreads = settings.Threads });
        results.Concurrency.Add(SoakAndConcurrency.Concurrency(model.Name, new TextGenerator(lm), settings.ConcurrencyThreads, settings.ConcurrencyNewTokens));
    }
    WriteResults(results, settings.Output);
}

if (!settings.Skip.Contains("soak") && settings.SoakGenerations > 0)
{
    Log($"{Model(settings.SoakModel).Name}: soak, {settings.SoakGenerations} generations ({settings.SoakRoute} route) in a child process");
    results.Soak = SoakRun.InChildProcess(settings, args);
}

results.FinishedUtc = DateTime.UtcNow;
string markdown = WriteResults(results, settings.Output);
Console.WriteLine(markdown);
return 0;

static string WriteResults(BenchResults results, string folder)
{
    var json = JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
    File.WriteAllText(Path.Combine(folder, "results.json"), json);
    string md = ReportWriter.Markdown(results);
    File.WriteAllText(Path.Combine(folder, "results.md"), md);
    return md;
}

namespace Aigc.MLNet.Bench.Peers
{
    internal sealed record CheckRow(string Pair, string Prompt, bool PromptIdsEqual, int[] Ours, int[] Theirs)
    {
        public bool Identical => PromptIdsEqual && Ours.AsSpan().SequenceEqual(Theirs);

        /// <summary>Index of the first differing new token, or -1.</summary>
        public int FirstDifference
        {
            get
            {
                int n = Math.Min(Ours.Length, Theirs.Length);
                for (int i = 0; i < n; i++) if (Ours[i] != Theirs[i]) return i;
                return Ours.Length == Theirs.Length ? -1 : n;
            }
        }
    }

    internal sealed record Bound(int Batch, double BytesPerSecond, long BytesPerStep, double TokensPerSecond);

    internal sealed class ModelReport
    {
        public string Name { get; set; } = "";
        public string Folder { get; set; } = "";
        public long ParameterBytes { get; set; }
        public long WeightBytesPerToken { get; set; }
        public int PromptTokens { get; set; }
        public string Peer { get; set; } = "";
        public List<Timing> Timings { get; } = [];
        public List<CheckRow> Check { get; } = [];
        public List<CheckRow> RawCheck { get; } = [];
        public List<Bound> Bounds { get; } = [];
        public StepProfile? Profile { get; set; }
    }

    internal sealed class BenchResults
    {
        public BenchSettings Settings { get; set; } = new();
        public Dictionary<string, string> Machine { get; set; } = [];
        public DateTime StartedUtc { get; set; }
        public DateTime FinishedUtc { get; set; }
        public List<BandwidthResult> Bandwidth { get; } = [];
        public List<ModelReport> Models { get; } = [];
        public List<ConcurrencyResult> Concurrency { get; } = [];
        public SoakResult? Soak { get; set; }
    }

    internal static class MachineInfo
    {
        public static Dictionary<string, string> Describe(int threads)
        {
            var d = new Dictionary<string, string>
            {
                ["os"] = RuntimeInformation.OSDescription,
                ["dotnet"] = RuntimeInformation.FrameworkDescription,
                ["logicalCores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
                ["threadsUsed"] = threads.ToString(CultureInfo.InvariantCulture),
                ["onnxruntime (C#)"] = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString(),
            };
            if (File.Exists("/proc/cpuinfo"))
                d["cpu"] = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
            if (File.Exists("/proc/loadavg"))
                d["loadAverageAtStart"] = File.ReadAllText("/proc/loadavg").Trim();
            if (File.Exists("/proc/meminfo"))
                d["memory"] = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
            return d;
        }
    }
}
