using System.Collections.Concurrent;
using System.Text.Json;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Onnx.Tests.Runtime;

/// <summary>Model folders for the runtime and generation tests, written once per test run into a temp folder.</summary>
internal static class EngineTestModels
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"aigc-engine-tests-{Environment.ProcessId}");
    private static readonly ConcurrentDictionary<string, Lazy<string>> Cache = new();

    static EngineTestModels()
    {
        // Remove folders of earlier test runs whose process is gone, and this run's folder when the process exits.
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), "aigc-engine-tests-*"))
        {
            if (!int.TryParse(Path.GetFileName(dir)["aigc-engine-tests-".Length..], out int pid) || pid == Environment.ProcessId) continue;
            bool alive;
            try { using var p = System.Diagnostics.Process.GetProcessById(pid); alive = !p.HasExited; }
            catch (ArgumentException) { alive = false; }
            if (!alive)
                try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { if (Directory.Exists(Root)) Directory.Delete(Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }

    public const int Gpt2Vocab = 97;
    public const int Gpt2Eos = 96;

    private static string Once(string key, Action<string> write) => Cache.GetOrAdd(key, k => new Lazy<string>(() =>
    {
        string dir = Path.Combine(Root, k);
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.CreateDirectory(dir);
        write(dir);
        return dir;
    })).Value;

    public static Gpt2Config TinyGpt2Config() => new()
    {
        NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 64, VocabSize = Gpt2Vocab, BosTokenId = 0, EosTokenId = Gpt2Eos,
    };

    /// <summary>A tiny GPT-2 with large random weights (peaked, well separated logits), same weights for every layout.</summary>
    public static Gpt2Weights TinyGpt2Weights(int seed = 7, Gpt2Config? config = null)
    {
        var w = Gpt2Weights.Random(config ?? TinyGpt2Config(), seed);
        var rng = new Random(seed + 1000);
        foreach (string name in w.Names.ToList())
        {
            float[] data = w.Get(name);
            for (int i = 0; i < data.Length; i++)
            {
                double n = rng.NextDouble() * 2 - 1;
                data[i] = name.Contains(".ln_") && name.EndsWith(".weight") ? (float)(1 + 0.3 * n) : (float)(0.5 * n);
            }
        }
        return w;
    }

    /// <summary>
    /// The tiny GPT-2 as a model folder: Optimum → onnx/model.onnx + config.json + generation_config.json;
    /// merged → decoder_model_merged.onnx + config.json; ORT GPT-2 → decoder.onnx named by genai_config.json only.
    /// </summary>
    public static string Gpt2Folder(Gpt2OnnxLayout layout, bool int32Inputs = false) => Once($"gpt2-{layout}-{int32Inputs}", dir =>
    {
        var weights = TinyGpt2Weights();
        var model = new Gpt2GraphBuilder(weights) { UseInt32Inputs = int32Inputs }.Build(layout);
        var c = weights.Config;
        switch (layout)
        {
            case Gpt2OnnxLayout.Optimum:
                Directory.CreateDirectory(Path.Combine(dir, "onnx"));
                model.Save(Path.Combine(dir, "onnx", "model.onnx"));
                c.Save(Path.Combine(dir, "config.json"));
                File.WriteAllText(Path.Combine(dir, "generation_config.json"), $$"""{ "bos_token_id": 0, "eos_token_id": {{Gpt2Eos}}, "max_length": 64 }""");
                break;
            case Gpt2OnnxLayout.OptimumMergedLegacy:
                model.Save(Path.Combine(dir, "decoder_model_merged.onnx"));
                c.Save(Path.Combine(dir, "config.json"));
                break;
            default:
                model.Save(Path.Combine(dir, "decoder.onnx"));
                File.WriteAllText(Path.Combine(dir, "genai_config.json"), $$"""
                    { "model": { "bos_token_id": 0, "eos_token_id": {{Gpt2Eos}}, "pad_token_id": {{Gpt2Eos}}, "context_length": 64, "vocab_size": {{Gpt2Vocab}},
                      "decoder": { "filename": "decoder.onnx", "num_attention_heads": 2, "num_hidden_layers": 2, "hidden_size": 16, "head_size": 8 } } }
                    """);
                break;
        }
    });

    /// <summary>
    /// An Optimum-layout model whose logits depend only on the last token: logits[b,s,:] = table[input_ids[b,s], :].
    /// Its one-layer cache (1 head, head size 1) stores the ids as floats, so the cache plumbing is still exercised.
    /// </summary>
    public static OnnxModel LookupModel(float[] table, int vocab, bool extraInput = false, bool half = false, bool noMask = false, bool lastOnly = false)
    {
        var f = half ? OnnxElementType.Float16 : OnnxElementType.Float;
        var g = new OnnxGraph("lookup");
        g.AddInput("input_ids", OnnxElementType.Int64, ["batch", "sequence"]);
        if (!noMask) g.AddInput("attention_mask", OnnxElementType.Int64, ["batch", "total"]);
        g.AddInput("position_ids", OnnxElementType.Int64, ["batch", "sequence"]);
        g.AddInput("past_key_values.0.key", f, ["batch", 1, "past", 1]);
        g.AddInput("past_key_values.0.value", f, ["batch", 1, "past", 1]);
        if (extraInput) g.AddInput("token_type_ids", OnnxElementType.Int64, ["batch", "sequence"]);
        if (half) g.AddInitializer("table", table.Select(x => (Half)x).ToArray(), [vocab, vocab]);
        else g.AddInitializer("table", table, [vocab, vocab]);
        string looked = "input_ids";
        if (lastOnly) looked = g.Apply("Slice", ["input_ids", g.AddConstant("start", -1), g.AddConstant("end", long.MaxValue), g.AddConstant("axis", 1)]);
        g.AddNode("Gather", ["table", looked], ["logits"], OnnxAttribute.Int("axis", 0));
        string asFloat = g.Apply("Cast", ["input_ids"], OnnxAttribute.Int("to", half ? 10 : 1));
        string kv = g.Apply("Unsqueeze", [asFloat, g.AddConstant("axes", 1, 3)]);
        g.AddNode("Concat", ["past_key_values.0.key", kv], ["present.0.key"], OnnxAttribute.Int("axis", 2));
        g.AddNode("Concat", ["past_key_values.0.value", kv], ["present.0.value"], OnnxAttribute.Int("axis", 2));
        g.AddOutput("logits", f, ["batch", "sequence", vocab]);
        g.AddOutput("present.0.key", f, ["batch", 1, "total", 1]);
        g.AddOutput("present.0.value", f, ["batch", 1, "total", 1]);
        return new OnnxModel(g);
    }

    /// <summary>A lookup-table model folder (see <see cref="LookupModel"/>) with a config.json naming <paramref name="eos"/>.</summary>
    public static string LookupFolder(string name, float[] table, int vocab, int eos, bool extraInput = false, bool half = false, bool noMask = false, bool lastOnly = false) => Once($"lookup-{name}", dir =>
    {
        LookupModel(table, vocab, extraInput, half, noMask, lastOnly).Save(Path.Combine(dir, "model.onnx"));
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["vocab_size"] = vocab, ["n_head"] = 1, ["n_embd"] = 1, ["n_layer"] = 1, ["n_positions"] = 64, ["eos_token_id"] = eos, ["bos_token_id"] = 0,
        }));
    });

    /// <summary>
    /// A cache-less model that writes a fixed script: logits[b,s,:] is a one-hot (10 vs 0) of script[position_ids[b,s] + 1],
    /// so a prompt equal to the script's first tokens is continued by the rest of the script. Folder includes GPT-2's vocab.json + merges.txt.
    /// </summary>
    public static string ScriptFolder(string name, int[] script, int vocab, int eos) => Once($"script-{name}", dir =>
    {
        int positions = script.Length + 8;
        var table = new float[positions * vocab];
        for (int p = 0; p < positions; p++)
            table[p * vocab + (p + 1 < script.Length ? script[p + 1] : eos)] = 10f;
        var g = new OnnxGraph("script");
        g.AddInput("input_ids", OnnxElementType.Int64, ["batch", "sequence"]);
        g.AddInput("attention_mask", OnnxElementType.Int64, ["batch", "sequence"]);
        g.AddInput("position_ids", OnnxElementType.Int64, ["batch", "sequence"]);
        g.AddInitializer("table", table, [positions, vocab]);
        string looked = g.Apply("Gather", ["table", "position_ids"], OnnxAttribute.Int("axis", 0));
        // Tie input_ids into the graph (times zero) so it stays a real input.
        string idsF = g.Apply("Cast", ["input_ids"], OnnxAttribute.Int("to", 1));
        string zero = g.Apply("Mul", [idsF, g.AddScalar("zero", 0f)]);
        string zeroB = g.Apply("Unsqueeze", [zero, g.AddConstant("ax", 2)]);
        g.AddNode("Add", [looked, zeroB], ["logits"]);
        g.AddOutput("logits", OnnxElementType.Float, ["batch", "sequence", vocab]);
        new OnnxModel(g).Save(Path.Combine(dir, "model.onnx"));
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["vocab_size"] = vocab, ["n_positions"] = positions, ["eos_token_id"] = eos, ["bos_token_id"] = eos,
        }));
        string data = DataDir();
        File.Copy(Path.Combine(data, "gpt2", "vocab.json"), Path.Combine(dir, "vocab.json"));
        File.Copy(Path.Combine(data, "gpt2", "merges.txt"), Path.Combine(dir, "merges.txt"));
    });

    public static string DataDir()
    {
        if (Environment.GetEnvironmentVariable("AIGC_DATA_DIR") is { Length: > 0 } d) return d;
        if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x) return Path.Combine(x, "aigc-mlnet");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "aigc-mlnet");
    }

    public static string TempDir(string name)
    {
        string dir = Path.Combine(Root, "tmp-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
