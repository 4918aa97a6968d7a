using System.Text.Json;
using System.Text.Json.Serialization;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Onnx.Tokenization;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>
/// The <c>mlm_config.json</c> of a masked-language-model folder: architecture sizes, the vocabulary kind and the mask token.
/// Written by the masked-LM exporter, read by <see cref="MaskedLM"/>.
/// </summary>
public sealed class MaskedLMConfig
{
    /// <summary>The file name inside a model folder.</summary>
    public const string FileName = "mlm_config.json";

    /// <summary>The <c>model_type</c> value.</summary>
    public const string MaskedLMModelType = "aigc_masked_lm";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    /// <summary>Always <see cref="MaskedLMModelType"/>.</summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; set; } = MaskedLMModelType;

    /// <summary>Architecture string (e.g. "MaskedLM:L2:H2:E64:P64:V66").</summary>
    [JsonPropertyName("architecture")]
    public string Architecture { get; set; } = "";

    /// <summary>"characters" (vocab.json of single characters) or "gpt2_bpe" (vocab.json + merges.txt).</summary>
    [JsonPropertyName("vocabulary")]
    public string Vocabulary { get; set; } = MaskedLMTokenizer.CharactersKind;

    /// <summary>Model vocabulary size: the base vocabulary plus the mask token.</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; set; }

    /// <summary>The literal text that stands for a masked token in input text (e.g. "[MASK]").</summary>
    [JsonPropertyName("mask_token")]
    public string MaskToken { get; set; } = MaskedLMTokenizer.DefaultMaskToken;

    /// <summary>Id of the mask token (the last id: base vocabulary size).</summary>
    [JsonPropertyName("mask_token_id")]
    public int MaskTokenId { get; set; }

    /// <summary>Context length: the longest input in tokens.</summary>
    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositions { get; set; }

    /// <summary>Encoder blocks.</summary>
    [JsonPropertyName("num_hidden_layers")]
    public int NumLayers { get; set; }

    /// <summary>Attention heads per block.</summary>
    [JsonPropertyName("num_attention_heads")]
    public int NumHeads { get; set; }

    /// <summary>Model width.</summary>
    [JsonPropertyName("hidden_size")]
    public int EmbeddingSize { get; set; }

    /// <summary>Width of the feed-forward layer.</summary>
    [JsonPropertyName("intermediate_size")]
    public int MlpSize { get; set; }

    /// <summary>Layer-norm epsilon.</summary>
    [JsonPropertyName("layer_norm_eps")]
    public float LayerNormEpsilon { get; set; } = 1e-5f;

    /// <summary>Throws <see cref="InvalidDataException"/> naming the first inconsistent field.</summary>
    /// <param name="source">Where the config came from, for messages.</param>
    public void Validate(string source = FileName)
    {
        if (ModelType != MaskedLMModelType)
            throw new InvalidDataException($"{source}: model_type is '{ModelType}'; expected '{MaskedLMModelType}'.");
        if (VocabSize < 2)
            throw new InvalidDataException($"{source}: vocab_size must be at least 2; found {VocabSize}.");
        if (MaskTokenId < 0 || MaskTokenId >= VocabSize)
            throw new InvalidDataException($"{source}: mask_token_id {MaskTokenId} is outside the vocabulary [0, {VocabSize}).");
        if (string.IsNullOrEmpty(MaskToken))
            throw new InvalidDataException($"{source}: mask_token must be non-empty.");
        if (MaxPositions < 1)
            throw new InvalidDataException($"{source}: max_position_embeddings must be at least 1; found {MaxPositions}.");
        if (NumLayers < 1 || NumHeads < 1 || EmbeddingSize < 1 || MlpSize < 1)
            throw new InvalidDataException($"{source}: num_hidden_layers, num_attention_heads, hidden_size and intermediate_size must be positive.");
        if (EmbeddingSize % NumHeads != 0)
            throw new InvalidDataException($"{source}: hidden_size ({EmbeddingSize}) must be a multiple of num_attention_heads ({NumHeads}).");
        if (Vocabulary is not (MaskedLMTokenizer.CharactersKind or MaskedLMTokenizer.Gpt2BpeKind))
            throw new InvalidDataException($"{source}: vocabulary is '{Vocabulary}'; expected '{MaskedLMTokenizer.CharactersKind}' or '{MaskedLMTokenizer.Gpt2BpeKind}'.");
    }

    /// <summary>Writes the config atomically.</summary>
    /// <param name="path">Destination file.</param>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, s_json) + "\n");

    /// <summary>Reads and validates a config file.</summary>
    /// <param name="path">The mlm_config.json path.</param>
    public static MaskedLMConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Masked-LM config '{path}' was not found; the folder is not a masked-LM model folder.", path);
        MaskedLMConfig config;
        try
        {
            config = JsonSerializer.Deserialize<MaskedLMConfig>(File.ReadAllText(path), s_json)
                ?? throw new InvalidDataException($"{path}: empty config.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
        config.Validate(path);
        return config;
    }
}
