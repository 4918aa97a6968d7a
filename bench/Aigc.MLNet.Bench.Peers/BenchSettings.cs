using System.Globalization;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>Command-line settings; every runtime gets the same thread count, prompt and token budget.</summary>
internal sealed class BenchSettings
{
    public int Threads { get; set; } = Environment.ProcessorCount;
    public int NewTokens { get; set; } = 64;
    public int Reps { get; set; } = 5;
    public int Warmup { get; set; } = 2;
    public int[] Batches { get; set; } = [1, 4];
    public string[] Models { get; set; } = ["tiny", "small"];
    public string Prompt { get; set; } = "The quick brown fox jumps over the lazy dog because";
    public int CheckTokens { get; set; } = 24;
    public int SoakGenerations { get; set; } = 2000;
    public int SoakWarmup { get; set; } = 200;
    public int SoakNewTokens { get; set; } = 16;
    public string SoakModel { get; set; } = "tiny";
    public string SoakRoute { get; set; } = "transform";
    /// <summary>Set in the child process the soak runs in, so its memory figures start clean.</summary>
    public bool SoakOnly { get; set; }
    public int ConcurrencyThreads { get; set; } = 8;
    public int ConcurrencyNewTokens { get; set; } = 12;
    public long BandwidthBytes { get; set; } = 1L << 30;
    public int BandwidthPasses { get; set; } = 10;
    public string Output { get; set; } = Path.Combine("artifacts", "bench-peers");
    public string? JsDir { get; set; }
    public int Seed { get; set; } = 1;
    public HashSet<string> Skip { get; } = new(StringComparer.OrdinalIgnoreCase);

    public const string Usage = """
        Aigc.MLNet.Bench.Peers — issue 9: this project's generation vs transformers.js, a raw ONNX Runtime loop and the memory-bandwidth bound.
        usage: dotnet run -c Release --project bench/Aigc.MLNet.Bench.Peers -- [options]
          --threads N            intra-op threads for every runtime (default: logical cores)
          --new-tokens N         new tokens per timed generation (default 64)
          --reps N / --warmup N  timed repetitions (median) / unmeasured warm-up pairs (default 5 / 2)
          --batches 1,4          batch sizes (default 1,4)
          --models tiny,small    models to time (default both)
          --check-tokens N       greedy tokens compared with transformers.js (default 24)
          --soak N               soak generations (default 2000); --soak-warmup N (200); --soak-model tiny|small
          --soak-route transform|engine   ML.NET GenerateText + PredictionEngine (default), or TextGenerator
          --concurrency N        threads sharing one model (default 8)
          --bandwidth-mb N       streaming-read buffer in MiB (default 1024); --bandwidth-passes N (10)
          --skip js,raw,engine,ids-only,profile,soak,concurrency,bandwidth   leave parts out
          --js-dir PATH          folder holding bench.mjs (default: found from bench/peers-js upwards)
          --out DIR              results.json + results.md (default artifacts/bench-peers)
        """;

    public static BenchSettings Parse(string[] args)
    {
        var s = new BenchSettings();
        for (int i = 0; i < args.Length; i++)
        {
            string key = args[i];
            if (key is "-h" or "--help") throw new ArgumentException(Usage);
            if (key == "--soak-only") { s.SoakOnly = true; continue; }
            if (i + 1 >= args.Length) throw new ArgumentException($"Option {key} needs a value.\n{Usage}");
            string v = args[++i];
            switch (key)
            {
                case "--threads": s.Threads = Positive(key, v); break;
                case "--new-tokens": s.NewTokens = Positive(key, v); break;
                case "--reps": s.Reps = Positive(key, v); break;
                case "--warmup": s.Warmup = NonNegative(key, v); break;
                case "--batches": s.Batches = [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(b => Positive(key, b))]; break;
                case "--models": s.Models = v.Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                case "--prompt": s.Prompt = v; break;
                case "--check-tokens": s.CheckTokens = Positive(key, v); break;
                case "--soak": s.SoakGenerations = NonNegative(key, v); break;
                case "--soak-warmup": s.SoakWarmup = NonNegative(key, v); break;
                case "--soak-new-tokens": s.SoakNewTokens = Positive(key, v); break;
                case "--soak-model": s.SoakModel = v; break;
                case "--soak-route": s.SoakRoute = v is "transform" or "engine" ? v : throw new ArgumentException($"--soak-route expects transform or engine, got '{v}'."); break;
                case "--concurrency": s.ConcurrencyThreads = Positive(key, v); break;
                case "--bandwidth-mb": s.BandwidthBytes = Positive(key, v) * (1L << 20); break;
                case "--bandwidth-passes": s.BandwidthPasses = Positive(key, v); break;
                case "--out": s.Output = v; break;
                case "--js-dir": s.JsDir = v; break;
                case "--seed": s.Seed = NonNegative(key, v); break;
                case "--skip": foreach (var part in v.Split(',', StringSplitOptions.RemoveEmptyEntries)) s.Skip.Add(part); break;
                default: throw new ArgumentException($"Unknown option {key}.\n{Usage}");
            }
        }
        if (s.NewTokens < 2) throw new ArgumentException("--new-tokens must be at least 2 (decode speed needs steps after the first token).");
        foreach (var m in s.Models.Append(s.SoakModel))
            if (m is not ("tiny" or "small")) throw new ArgumentException($"Unknown model '{m}': expected tiny or small.");
        return s;
    }

    private static int Positive(string key, string v) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n
            : throw new ArgumentException($"{key} expects a positive integer, got '{v}'.");

    private static int NonNegative(string key, string v) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0 ? n
            : throw new ArgumentException($"{key} expects a non-negative integer, got '{v}'.");
}
