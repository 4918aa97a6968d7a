using System.Text.Json;
using Aigc.MLNet.Onnx.Gpt2;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>A random-weight GPT-2 folder written once by the project's exporter into the cache and reused.</summary>
internal sealed record BenchModel(string Name, string Folder, Gpt2Config Config, int Seed)
{
    private const string Marker = "peers-complete.json";

    /// <summary>2 layers, 4 heads, 64 wide, GPT-2's 50,257-token vocabulary (so both runtimes tokenize the same way).</summary>
    public static Gpt2Config TinyConfig => new() { NumLayers = 2, NumHeads = 4, EmbeddingSize = 64, MaxPositions = 256 };

    /// <summary>GPT-2 small's shape: 12 layers, 12 heads, 768 wide, vocabulary 50,257, 1,024 positions.</summary>
    public static Gpt2Config SmallConfig => Gpt2Config.Small;

    /// <summary>The data folder: AIGC_DATA_DIR, else $XDG_CACHE_HOME/aigc-mlnet, else ~/.cache/aigc-mlnet.</summary>
    public static string DataDirectory()
    {
        if (Environment.GetEnvironmentVariable("AIGC_DATA_DIR") is { Length: > 0 } dir) return dir;
        string cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "aigc-mlnet");
    }

    /// <summary>The model for a command-line key: "tiny" or "small".</summary>
    public static BenchModel Ensure(string key, int seed) => key switch
    {
        "tiny" => Ensure("gpt2-tiny-random", TinyConfig, seed),
        "small" => Ensure("gpt2-small-random", SmallConfig, seed),
        _ => throw new ArgumentException($"Unknown model '{key}': expected tiny or small.", nameof(key)),
    };

    /// <summary>Returns the model folder, exporting it first when it is missing or was left incomplete.</summary>
    public static BenchModel Ensure(string name, Gpt2Config config, int seed, string? root = null)
    {
        root ??= Path.Combine(DataDirectory(), "bench", "peers");
        string folder = Path.Combine(root, $"{name}-s{seed}");
        string marker = Path.Combine(folder, Marker);
        string expected = JsonSerializer.Serialize(new { config = config.ToJson(), seed, format = 1 });
        if (File.Exists(marker) && File.ReadAllText(marker) == expected) return new BenchModel(name, folder, config, seed);

        string gpt2 = Path.Combine(DataDirectory(), "gpt2");
        string vocab = Path.Combine(gpt2, "vocab.json"), merges = Path.Combine(gpt2, "merges.txt");
        if (!File.Exists(vocab) || !File.Exists(merges))
            throw new FileNotFoundException($"GPT-2 tokenizer files not found: expected '{vocab}' and '{merges}' (set AIGC_DATA_DIR to the folder holding gpt2/).", vocab);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Console.Error.WriteLine($"[prepare] exporting {name} (seed {seed}) to {folder} ...");
        var started = DateTime.UtcNow;
        var weights = Gpt2Weights.Random(config, seed);
        Gpt2Exporter.Export(weights, Gpt2TokenizerFiles.Bpe(vocab, merges), folder);
        File.WriteAllText(marker, expected);
        Console.Error.WriteLine($"[prepare] {name}: {weights.ParameterCount:N0} parameters in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        return new BenchModel(name, folder, config, seed);
    }

    /// <summary>Path of the ONNX file inside the folder.</summary>
    public string ModelFile => Path.Combine(Folder, "onnx", "model.onnx");

    /// <summary>Total fp32 parameter bytes stored in the model.</summary>
    public long ParameterBytes => Gpt2Weights.ExpectedShapes(Config).Values.Sum(s => s.Aggregate(4L, (a, d) => a * d));

    /// <summary>
    /// Weight bytes one decode step must stream from memory at batch 1: every block matrix, bias and layer norm, the
    /// whole token embedding (the tied lm_head Gemm reads all of it), and one row each of the token and position embeddings.
    /// </summary>
    public long WeightBytesPerToken
    {
        get
        {
            long bytes = 0;
            foreach (var (name, shape) in Gpt2Weights.ExpectedShapes(Config))
            {
                long size = shape.Aggregate(4L, (a, d) => a * d);
                if (name == "transformer.wpe.weight") bytes += 4L * Config.EmbeddingSize;
                else if (name == "transformer.wte.weight") bytes += size + 4L * Config.EmbeddingSize;
                else bytes += size;
            }
            return bytes;
        }
    }

    /// <summary>Key/value cache bytes one decode step reads when <paramref name="positions"/> positions are cached, per row.</summary>
    public long CacheBytesPerToken(int positions) => 2L * Config.NumLayers * positions * Config.EmbeddingSize * 4;
}
