// Bounded load test of the OpenAI-compatible server (issue 16): an in-process OpenAIServer on a loopback port, a fixed
// number of /v1/completions requests per level, 1 client (serial) then 4, 8 and 16 concurrent clients; tokens/s, p50/p95
// latency and the mean batch size, each level against the serial one measured in the same run. --soak N instead sends N
// requests from 8 clients and samples RSS, the managed heap and the scheduler's rows and queue, to show nothing leaks.
// Usage: see README.md beside this file.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Serving;

var culture = CultureInfo.InvariantCulture;
string modelKey = Arg("--model", "small");
int requests = int.Parse(Arg("--requests", "48"), culture);
int newTokens = int.Parse(Arg("--new-tokens", "32"), culture);
int promptTokens = int.Parse(Arg("--prompt-tokens", "16"), culture);
int[] levels = Arg("--clients", "1,4,8,16").Split(',').Select(s => int.Parse(s, culture)).ToArray();
int maxBatch = int.Parse(Arg("--max-batch", levels.Max().ToString(culture)), culture);
int soak = int.Parse(Arg("--soak", "0"), culture);
int threads = int.Parse(Arg("--threads", "0"), culture);
int engineRequests = int.Parse(Arg("--engine-requests", "8"), culture);
string output = Arg("--out", Path.Combine("artifacts", "bench", "serving"));
Directory.CreateDirectory(output);

string folder = EnsureModel(modelKey);
Console.WriteLine($"model {modelKey} ({folder}); uptime: {Uptime()}");
await using var server = OpenAIServer.Create(new OpenAIServerOptions
{
    ModelPath = folder, Port = 0, MaxBatchSize = maxBatch, MaxQueueLength = 256, IntraOpNumThreads = threads, MaxTokens = 4096,
});
await server.StartAsync();
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(30) };
Console.WriteLine($"serving at {server.BaseAddress}, max batch {maxBatch}");

// Prompts of exactly promptTokens ids, different per request; greedy with ignore_eos so every request makes newTokens tokens.
int[] Prompt(int i) => Enumerable.Range(0, promptTokens).Select(j => (int)(((long)i * 7919 + (long)j * 104729 + 13) % 50000)).ToArray();
async Task<(double Seconds, int Tokens)> Send(int i, int tokens)
{
    var sw = Stopwatch.StartNew();
    using var response = await http.PostAsJsonAsync("v1/completions", new { prompt = Prompt(i), max_tokens = tokens, temperature = 0, ignore_eos = true });
    string body = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"request {i}: {(int)response.StatusCode} {body}");
    int made = JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
    if (made != tokens) throw new InvalidOperationException($"request {i}: {made} tokens instead of {tokens}");
    return (sw.Elapsed.TotalSeconds, made);
}

// Request i asks for between half and all of --new-tokens, so rows finish at different steps and new ones join a running batch.
int TokensOf(int i) => newTokens - i % (newTokens / 2 + 1);

// Every request from `clients` clients, each sending its next request as soon as the previous one is answered.
async Task<List<(double Seconds, int Tokens)>> Run(int count, int clients, int offset, Func<int, int> tokens, Action<int>? progress = null)
{
    int next = -1;
    var results = new (double, int)[count];
    await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
    {
        for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
        {
            results[i] = await Send(offset + i, tokens(i));
            progress?.Invoke(i);
        }
    })));
    return [.. results];
}

if (soak > 0)
{
    await Soak();
    return;
}

// Warm-up: arena growth and first-run graph work at every batch size the levels will see.
await Run(maxBatch * 2, maxBatch, 1_000_000, _ => 4);
Console.WriteLine($"engine alone (TextGenerator, no HTTP), serial: measuring {engineRequests} requests...");
var engine = new TextGenerator(server.Model);
var engineWatch = Stopwatch.StartNew();
int engineTokens = 0;
for (int i = 0; i < engineRequests; i++)
    engineTokens += engine.GenerateTokens(Prompt(i), new GenerationOptions { MaxNewTokens = newTokens, EosTokenIds = [] })[0].TokenIds.Count;
double engineRate = engineTokens / engineWatch.Elapsed.TotalSeconds;

var rows = new List<Row>();
foreach (int clients in levels)
{
    long steps = server.Scheduler.DecodeSteps, rowSteps = server.Scheduler.RowSteps;
    var watch = Stopwatch.StartNew();
    var results = await Run(requests, clients, clients * 10_000, TokensOf);
    double wall = watch.Elapsed.TotalSeconds;
    var latencies = results.Select(r => r.Seconds).Order().ToArray();
    double meanBatch = (double)(server.Scheduler.RowSteps - rowSteps) / Math.Max(1, server.Scheduler.DecodeSteps - steps);
    var row = new Row(clients, requests, results.Sum(r => r.Tokens), wall, results.Sum(r => r.Tokens) / wall, Percentile(latencies, 0.5), Percentile(latencies, 0.95), meanBatch);
    rows.Add(row);
    Console.WriteLine(string.Create(culture, $"{clients,2} clients: {row.TokensPerSecond:F1} tok/s, p50 {row.P50:F2} s, p95 {row.P95:F2} s, mean batch {meanBatch:F2}, {wall:F1} s"));
}

double serial = rows.First(r => r.Clients == 1).TokensPerSecond;
var md = new System.Text.StringBuilder();
md.AppendLine(string.Create(culture, $"Model {modelKey}, {requests} requests per level, prompt {promptTokens} tokens, {newTokens / 2}-{newTokens} new tokens each (request i: {newTokens} - i mod {newTokens / 2 + 1}; greedy, ignore_eos), max batch {maxBatch}."));
md.AppendLine(string.Create(culture, $"Engine alone (TextGenerator, no HTTP, serial): {engineRate:F1} tok/s. uptime at the end: {Uptime()}"));
md.AppendLine();
md.AppendLine("| clients | requests | tokens | wall s | tokens/s | vs serial | p50 latency s | p95 latency s | mean batch |");
md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
foreach (var r in rows)
    md.AppendLine(string.Create(culture, $"| {r.Clients} | {r.Requests} | {r.Tokens} | {r.Wall:F1} | {r.TokensPerSecond:F1} | {r.TokensPerSecond / serial:F2}x | {r.P50:F2} | {r.P95:F2} | {r.MeanBatch:F2} |"));
Console.WriteLine();
Console.WriteLine(md);
File.WriteAllText(Path.Combine(output, $"load-{modelKey}.md"), md.ToString());
return;

async Task Soak()
{
    const int clients = 8;
    int every = Math.Max(1, soak / 10);
    var samples = new List<string>();
    void Sample(string phase, int done)
    {
        using var self = Process.GetCurrentProcess();
        samples.Add(string.Create(culture,
            $"| {phase} | {done} | {GC.GetTotalMemory(false) / 1048576.0:F1} | {self.WorkingSet64 / 1048576.0:F1} | {server.Scheduler.ActiveRows} | {server.Scheduler.QueueLength} |"));
    }
    Sample("start (model loaded, no request yet)", 0);
    int completed = 0;
    var watch = Stopwatch.StartNew();
    var results = await Run(soak, clients, 0, TokensOf, i =>
    {
        int done = Interlocked.Increment(ref completed);
        if (done % every == 0) lock (samples) Sample(done == every ? "after warm-up" : "", done);
    });
    double wall = watch.Elapsed.TotalSeconds;
    await Task.Delay(200);
    Sample("end (all answered)", soak);
    var (ok, cancelled, failed) = server.Scheduler.RequestCounts;
    var md = new System.Text.StringBuilder();
    md.AppendLine(string.Create(culture, $"Soak: model {modelKey}, {soak} requests from {clients} clients, {newTokens / 2}-{newTokens} new tokens each, max batch {maxBatch}: {soak / wall:F1} requests/s, {results.Sum(r => r.Tokens)} tokens."));
    md.AppendLine(string.Create(culture, $"Scheduler: {ok} completed, {cancelled} cancelled, {failed} failed; every response had the tokens it asked for. uptime at the end: {Uptime()}"));
    md.AppendLine();
    md.AppendLine("| phase | requests answered | managed MB | RSS MB | batch rows | queue |");
    md.AppendLine("|---|---:|---:|---:|---:|---:|");
    foreach (var s in samples) md.AppendLine(s);
    Console.WriteLine(md);
    File.WriteAllText(Path.Combine(output, $"soak-{modelKey}.md"), md.ToString());
}

static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

static string Uptime()
{
    try { return File.ReadAllText("/proc/loadavg").Trim(); }
    catch (IOException) { return "unknown"; }
}

static string Arg(string name, string fallback)
{
    var args = Environment.GetCommandLineArgs();
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

static string EnsureModel(string key)
{
    var config = key switch
    {
        "small" => Gpt2Config.Small,
        "tiny" => new Gpt2Config { NumLayers = 2, NumHeads = 4, EmbeddingSize = 64, MaxPositions = 256 },
        _ => throw new ArgumentException($"--model is '{key}': expected small (GPT-2 small's shape) or tiny."),
    };
    string data = Environment.GetEnvironmentVariable("AIGC_DATA_DIR") is { Length: > 0 } d ? d
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "aigc-mlnet");
    string folder = Path.Combine(data, "bench", "serving", $"gpt2-{key}-random");
    string marker = Path.Combine(folder, "complete.json");
    if (File.Exists(marker) && File.ReadAllText(marker) == config.ToJson()) return folder;
    string vocab = Path.Combine(data, "gpt2", "vocab.json"), merges = Path.Combine(data, "gpt2", "merges.txt");
    if (!File.Exists(vocab)) throw new FileNotFoundException($"GPT-2 vocabulary not found at '{vocab}': run 'bash eng/fetch-data.sh' first.", vocab);
    if (Directory.Exists(folder)) Directory.Delete(folder, true);
    Console.WriteLine($"writing a random GPT-2 ({key}) with the GPT-2 vocabulary to {folder} (once)...");
    Gpt2Exporter.Export(Gpt2Weights.Random(config, 1), Gpt2TokenizerFiles.Bpe(vocab, merges), folder);
    File.WriteAllText(marker, config.ToJson());
    return folder;
}

internal sealed record Row(int Clients, int Requests, int Tokens, double Wall, double TokensPerSecond, double P50, double P95, double MeanBatch);
