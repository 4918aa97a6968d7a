using System.Text.Json;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>Model facts a decoder needs: special tokens and sizes, read from config.json, generation_config.json and genai_config.json.</summary>
public sealed class CausalLMConfig
{
    /// <summary>End-of-sequence token ids (GPT-2: 50256); empty when the model declares none.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>Beginning-of-sequence token id, or null.</summary>
    public int? BosTokenId { get; init; }

    /// <summary>Padding token id, or null (GPT-2 has none; the decoder then pads with the first EOS id, as Hugging Face does).</summary>
    public int? PadTokenId { get; init; }

    /// <summary>Longest sequence the model accepts (n_positions / max_position_embeddings / context_length), or null when unknown.</summary>
    public int? MaxPositions { get; init; }

    /// <summary>The file and key <see cref="MaxPositions"/> was read from (e.g. <c>'…/config.json' n_positions</c>), for messages.</summary>
    internal string? MaxPositionsSource { get; init; }

    /// <summary>Vocabulary size, or 0 when unknown until the first run.</summary>
    public int VocabSize { get; init; }

    /// <summary>Number of transformer layers (n_layer), or 0 when unknown.</summary>
    public int NumLayers { get; init; }

    /// <summary>Attention heads per layer (n_head), or 0 when unknown.</summary>
    public int NumHeads { get; init; }

    /// <summary>Hidden width (n_embd), or 0 when unknown.</summary>
    public int HiddenSize { get; init; }

    /// <summary>The model's default maximum total length from generation_config.json (max_length), or null.</summary>
    public int? DefaultMaxLength { get; init; }

    /// <summary>
    /// What generation does at n_positions unless <see cref="Generation.GenerationOptions.ContextOverflow"/> says otherwise:
    /// generation_config.json's <c>context_overflow</c> ("slide" for models trained with Aigc.MLNet), else null (stop).
    /// </summary>
    public Generation.ContextOverflow? DefaultContextOverflow { get; init; }

    /// <summary>
    /// Whether generation with <paramref name="options"/> slides the context window at n_positions (so prompt plus new
    /// tokens may exceed it): <see cref="Generation.GenerationOptions.ContextOverflow"/>, else <see cref="DefaultContextOverflow"/>.
    /// </summary>
    /// <param name="options">The generation options.</param>
    public bool SlidesContext(Generation.GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return MaxPositions is not null && (options.ContextOverflow ?? DefaultContextOverflow) == Generation.ContextOverflow.SlideWindow;
    }

    /// <summary>The token id to feed for padding: <see cref="PadTokenId"/>, else the first EOS id, else 0.</summary>
    public int EffectivePadTokenId => PadTokenId ?? (EosTokenIds.Count > 0 ? EosTokenIds[0] : 0);

    /// <summary>Reads the JSON configuration files in <paramref name="folder"/>; missing files contribute nothing.</summary>
    public static CausalLMConfig Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var b = new Builder();
        // Later files override earlier ones: generation_config.json is what HF generate() reads for special tokens.
        b.ReadHuggingFace(Path.Combine(folder, "config.json"));
        b.ReadHuggingFace(Path.Combine(folder, "generation_config.json"));
        b.ReadGenAi(Path.Combine(folder, "genai_config.json"));
        return b.Build();
    }

    /// <summary>The decoder file named by genai_config.json (model.decoder.filename), or null.</summary>
    internal static string? ReadGenAiDecoderFile(string folder)
    {
        string path = Path.Combine(folder, "genai_config.json");
        if (!File.Exists(path)) return null;
        using var doc = Parse(path);
        if (doc.RootElement.TryGetProperty("model", out var model) && model.TryGetProperty("decoder", out var decoder)
            && decoder.TryGetProperty("filename", out var file) && file.ValueKind == JsonValueKind.String)
            return file.GetString();
        return null;
    }

    private static JsonDocument Parse(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    private sealed class Builder
    {
        private IReadOnlyList<int>? _eos;
        private int? _bos, _pad, _maxPositions, _maxLength;
        private string? _maxPositionsSource;
        private Generation.ContextOverflow? _overflow;
        private int _vocab, _layers, _heads, _hidden;

        public void ReadHuggingFace(string path)
        {
            if (!File.Exists(path)) return;
            using var doc = Parse(path);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{path}' must hold a JSON object.");
            ReadTokens(root, path);
            ReadMaxPositions(root, path, "n_positions", "max_position_embeddings");
            _vocab = Int(root, path, "vocab_size") ?? _vocab;
            _layers = Int(root, path, "n_layer") ?? Int(root, path, "num_hidden_layers") ?? _layers;
            _heads = Int(root, path, "n_head") ?? Int(root, path, "num_attention_heads") ?? _heads;
            _hidden = Int(root, path, "n_embd") ?? Int(root, path, "hidden_size") ?? _hidden;
            if (Path.GetFileName(path) == "generation_config.json")
            {
                _maxLength = Int(root, path, "max_length") ?? _maxLength;
                if (root.TryGetProperty("context_overflow", out var overflow) && overflow.ValueKind != JsonValueKind.Null)
                    _overflow = Generation.GenerationOptions.ParseContextOverflow(overflow.ValueKind == JsonValueKind.String ? overflow.GetString() : overflow.GetRawText(), path);
            }
        }

        public void ReadGenAi(string path)
        {
            if (!File.Exists(path)) return;
            using var doc = Parse(path);
            if (!doc.RootElement.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object) return;
            ReadTokens(model, path);
            ReadMaxPositions(model, path, "context_length");
            _vocab = Int(model, path, "vocab_size") ?? _vocab;
            if (model.TryGetProperty("decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
            {
                _layers = Int(decoder, path, "num_hidden_layers") ?? _layers;
                _heads = Int(decoder, path, "num_attention_heads") ?? _heads;
                _hidden = Int(decoder, path, "hidden_size") ?? _hidden;
            }
        }

        private void ReadMaxPositions(JsonElement root, string path, params string[] names)
        {
            foreach (string name in names)
            {
                if (Int(root, path, name) is not int value) continue;
                (_maxPositions, _maxPositionsSource) = (value, $"'{path}' {name}");
                return;
            }
        }

        private void ReadTokens(JsonElement root, string path)
        {
            if (root.TryGetProperty("eos_token_id", out var eos))
            {
                if (eos.ValueKind == JsonValueKind.Number) _eos = [eos.GetInt32()];
                else if (eos.ValueKind == JsonValueKind.Array) _eos = [.. eos.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number ? e.GetInt32() : throw new InvalidDataException($"'{path}': eos_token_id must hold integers."))];
                else if (eos.ValueKind != JsonValueKind.Null) throw new InvalidDataException($"'{path}': eos_token_id must be an integer or a list of integers.");
            }
            _bos = Int(root, path, "bos_token_id") ?? _bos;
            _pad = Int(root, path, "pad_token_id") ?? _pad;
        }

        private static int? Int(JsonElement root, string path, string name)
        {
            if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null) return null;
            if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v)) return v;
            if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0 && e[0].TryGetInt32(out v)) return v;
            throw new InvalidDataException($"'{path}': '{name}' must be an integer, found {e.GetRawText()}.");
        }

        public CausalLMConfig Build() => new()
        {
            EosTokenIds = _eos ?? [],
            BosTokenId = _bos,
            PadTokenId = _pad,
            MaxPositions = _maxPositions,
            MaxPositionsSource = _maxPositionsSource,
            VocabSize = _vocab,
            NumLayers = _layers,
            NumHeads = _heads,
            HiddenSize = _hidden,
            DefaultMaxLength = _maxLength,
            DefaultContextOverflow = _overflow,
        };
    }
}
