using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Onnx.Gpt2;

/// <summary>
/// GPT-2 hyper-parameters, read from and written to a Hugging Face <c>config.json</c> (<c>"model_type": "gpt2"</c>).
/// Defaults are GPT-2 small (12 layers, 12 heads, 768 wide, 1024 positions, 50,257 tokens).
/// </summary>
public sealed class Gpt2Config
{
    /// <summary>Number of transformer blocks (<c>n_layer</c>).</summary>
    public int NumLayers { get; init; } = 12;

    /// <summary>Number of attention heads (<c>n_head</c>).</summary>
    public int NumHeads { get; init; } = 12;

    /// <summary>Hidden size (<c>n_embd</c>).</summary>
    public int EmbeddingSize { get; init; } = 768;

    /// <summary>Maximum sequence length (<c>n_positions</c>).</summary>
    public int MaxPositions { get; init; } = 1024;

    /// <summary>Vocabulary size (<c>vocab_size</c>).</summary>
    public int VocabSize { get; init; } = 50257;

    /// <summary>Inner MLP size (<c>n_inner</c>); null means 4 × <see cref="EmbeddingSize"/>.</summary>
    public int? InnerSize { get; init; }

    /// <summary>Layer-norm epsilon (<c>layer_norm_epsilon</c>).</summary>
    public float LayerNormEpsilon { get; init; } = 1e-5f;

    /// <summary>Beginning-of-sequence id (<c>bos_token_id</c>).</summary>
    public int BosTokenId { get; init; } = 50256;

    /// <summary>End-of-sequence id (<c>eos_token_id</c>).</summary>
    public int EosTokenId { get; init; } = 50256;

    /// <summary>Padding id (<c>pad_token_id</c>); GPT-2 has none (null).</summary>
    public int? PadTokenId { get; init; }

    /// <summary>Weight initialisation standard deviation (<c>initializer_range</c>).</summary>
    public float InitializerRange { get; init; } = 0.02f;

    /// <summary>Size of one attention head (<see cref="EmbeddingSize"/> / <see cref="NumHeads"/>).</summary>
    public int HeadSize => EmbeddingSize / NumHeads;

    /// <summary>Effective MLP width.</summary>
    public int MlpSize => InnerSize ?? 4 * EmbeddingSize;

    /// <summary>GPT-2 small (124M).</summary>
    public static Gpt2Config Small => new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent setting.</summary>
    public void Validate()
    {
        static void Positive(int v, string name)
        {
            if (v <= 0) throw new ArgumentException($"Gpt2Config.{name} must be positive but is {v}.", name);
        }
        Positive(NumLayers, nameof(NumLayers));
        Positive(NumHeads, nameof(NumHeads));
        Positive(EmbeddingSize, nameof(EmbeddingSize));
        Positive(MaxPositions, nameof(MaxPositions));
        Positive(VocabSize, nameof(VocabSize));
        Positive(MlpSize, nameof(InnerSize));
        if (EmbeddingSize % NumHeads != 0)
            throw new ArgumentException($"Gpt2Config.EmbeddingSize ({EmbeddingSize}) must be a multiple of NumHeads ({NumHeads}).", nameof(EmbeddingSize));
        if (!(LayerNormEpsilon > 0))
            throw new ArgumentException($"Gpt2Config.LayerNormEpsilon must be positive but is {LayerNormEpsilon}.", nameof(LayerNormEpsilon));
        CheckId(BosTokenId, nameof(BosTokenId));
        CheckId(EosTokenId, nameof(EosTokenId));
        if (PadTokenId is int pad) CheckId(pad, nameof(PadTokenId));
    }

    private void CheckId(int id, string name)
    {
        if (id < 0 || id >= VocabSize)
            throw new ArgumentException($"Gpt2Config.{name} ({id}) must be in [0, {VocabSize}).", name);
    }

    /// <summary>The Hugging Face config.json text.</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["activation_function"] = "gelu_new",
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["attn_pdrop"] = 0.1,
            ["bos_token_id"] = BosTokenId,
            ["embd_pdrop"] = 0.1,
            ["eos_token_id"] = EosTokenId,
            ["initializer_range"] = InitializerRange,
            ["layer_norm_epsilon"] = LayerNormEpsilon,
            ["model_type"] = "gpt2",
            ["n_ctx"] = MaxPositions,
            ["n_embd"] = EmbeddingSize,
            ["n_head"] = NumHeads,
            ["n_inner"] = InnerSize,
            ["n_layer"] = NumLayers,
            ["n_positions"] = MaxPositions,
            ["resid_pdrop"] = 0.1,
            ["scale_attn_weights"] = true,
            ["tie_word_embeddings"] = true,
            ["use_cache"] = true,
            ["vocab_size"] = VocabSize,
        };
        if (PadTokenId is int pad) o["pad_token_id"] = pad;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Writes config.json atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Reads a Hugging Face GPT-2 config.json.</summary>
    public static Gpt2Config Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"GPT-2 config not found: '{path}'.", path);
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>Parses config.json text; <paramref name="source"/> names it in error messages.</summary>
    public static Gpt2Config FromJson(string json, string source = "config.json")
    {
        JsonObject o;
        try
        {
            o = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"'{source}' is not a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"'{source}' is not valid JSON: {ex.Message}", ex);
        }
        string? type = o["model_type"]?.GetValue<string>();
        if (type is not null && type != "gpt2")
            throw new InvalidDataException($"'{source}': model_type is '{type}', expected 'gpt2'.");
        string? act = o["activation_function"]?.GetValue<string>();
        if (act is not null && act != "gelu_new" && act != "gelu_pytorch_tanh")
            throw new InvalidDataException($"'{source}': activation_function '{act}' is not supported (expected 'gelu_new').");

        int Int(string key, int fallback)
        {
            JsonNode? n = o[key];
            if (n is null) return fallback;
            try { return n.GetValue<int>(); }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"'{source}': '{key}' must be an integer but is {n.ToJsonString()}.", ex);
            }
        }
        int? OptInt(string key) => o[key] is null ? null : Int(key, 0);
        float Float(string key, float fallback)
        {
            JsonNode? n = o[key];
            if (n is null) return fallback;
            try { return (float)n.GetValue<double>(); }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"'{source}': '{key}' must be a number but is {n.ToJsonString()}.", ex);
            }
        }

        int positions = Int("n_positions", Int("n_ctx", 1024));
        var config = new Gpt2Config
        {
            NumLayers = Int("n_layer", 12),
            NumHeads = Int("n_head", 12),
            EmbeddingSize = Int("n_embd", 768),
            MaxPositions = positions,
            VocabSize = Int("vocab_size", 50257),
            InnerSize = OptInt("n_inner"),
            LayerNormEpsilon = Float("layer_norm_epsilon", 1e-5f),
            BosTokenId = Int("bos_token_id", 50256),
            EosTokenId = Int("eos_token_id", 50256),
            PadTokenId = OptInt("pad_token_id"),
            InitializerRange = Float("initializer_range", 0.02f),
        };
        try { config.Validate(); }
        catch (ArgumentException ex) { throw new InvalidDataException($"'{source}': {ex.Message}", ex); }
        return config;
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"GPT-2 {NumLayers} layers, {NumHeads} heads, {EmbeddingSize} wide, {MaxPositions} positions, vocab {VocabSize}");
}
