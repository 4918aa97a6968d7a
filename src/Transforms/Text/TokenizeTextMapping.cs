using System.Runtime.CompilerServices;
using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.Tokenizers;
using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.Transforms;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>Input row of the TokenizeText mapping.</summary>
public sealed class TokenizeTextMappingInput
{
    /// <summary>The pipeline's configuration (see <see cref="ConfiguredMapping"/>).</summary>
    public string AigcConfig { get; set; } = "";

    /// <summary>The text.</summary>
    public string? __AigcText { get; set; }
}

/// <summary>Output row of the TokenizeText mapping.</summary>
public sealed class TokenizeTextMappingOutput
{
    /// <summary>The token ids.</summary>
    public int[] __AigcTokenIds { get; set; } = [];

    /// <summary>How many ids.</summary>
    public int __AigcTokenCount { get; set; }
}

/// <summary>The row mapping behind TokenizeText, stored in saved models under <see cref="ContractName"/>.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class TokenizeTextMapping : CustomMappingFactory<TokenizeTextMappingInput, TokenizeTextMappingOutput>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.TokenizeText";

    internal const string TextProperty = nameof(TokenizeTextMappingInput.__AigcText);
    internal const string IdsProperty = nameof(TokenizeTextMappingOutput.__AigcTokenIds);
    internal const string CountProperty = nameof(TokenizeTextMappingOutput.__AigcTokenCount);

    /// <inheritdoc/>
    public override Action<TokenizeTextMappingInput, TokenizeTextMappingOutput> GetMapping() => static (input, output) =>
    {
        var (_, tokenizer) = TokenizerConfig.ResolveEncoded(input.AigcConfig);
        var ids = tokenizer.EncodeToIds(input.__AigcText ?? "");
        output.__AigcTokenIds = ids as int[] ?? ids.ToArray();
        output.__AigcTokenCount = ids.Count;
    };
}

/// <summary>Input row of the DetokenizeText mapping.</summary>
public sealed class DetokenizeTextMappingInput
{
    /// <summary>The pipeline's configuration (see <see cref="ConfiguredMapping"/>).</summary>
    public string AigcConfig { get; set; } = "";

    /// <summary>The token ids.</summary>
    public int[] __AigcTokenIds { get; set; } = [];
}

/// <summary>Output row of the DetokenizeText mapping.</summary>
public sealed class DetokenizeTextMappingOutput
{
    /// <summary>The decoded text.</summary>
    public string __AigcText { get; set; } = "";
}

/// <summary>The row mapping behind DetokenizeText, stored in saved models under <see cref="ContractName"/>.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class DetokenizeTextMapping : CustomMappingFactory<DetokenizeTextMappingInput, DetokenizeTextMappingOutput>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.DetokenizeText";

    internal const string IdsProperty = nameof(DetokenizeTextMappingInput.__AigcTokenIds);
    internal const string TextProperty = nameof(DetokenizeTextMappingOutput.__AigcText);

    /// <inheritdoc/>
    public override Action<DetokenizeTextMappingInput, DetokenizeTextMappingOutput> GetMapping() => static (input, output) =>
    {
        var (config, tokenizer) = TokenizerConfig.ResolveEncoded(input.AigcConfig);
        var ids = input.__AigcTokenIds ?? [];
        if (KnownIdCount(tokenizer) is int count)
            for (int i = 0; i < ids.Length; i++)
                if ((uint)ids[i] >= (uint)count)
                    throw new ArgumentException($"DetokenizeText: column '{config.Column}' holds id {ids[i]} at position {i}; the tokenizer's ids are 0 to {count - 1}.");
        try
        {
            output.__AigcText = tokenizer.Decode(ids) ?? "";
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or IndexOutOfRangeException)
        {
            throw new ArgumentException($"DetokenizeText: column '{config.Column}' holds ids the tokenizer cannot decode: [{string.Join(", ", ids.Take(20))}{(ids.Length > 20 ? ", ..." : "")}] ({e.Message})", e);
        }
    };

    private static readonly ConditionalWeakTable<Tokenizer, StrongBox<int>> s_idCounts = new();

    /// <summary>
    /// How many ids the tokenizer can decode (every id below it), or null when its type does not say. BPE tokenizers skip an
    /// unknown id silently when decoding, so the ids are checked against this count first.
    /// </summary>
    internal static int? KnownIdCount(Tokenizer tokenizer) => tokenizer switch
    {
        CharTokenizer chars => chars.VocabularySize,
        BpeTokenizer bpe => s_idCounts.GetValue(bpe, static t =>
        {
            var b = (BpeTokenizer)t;
            int max = b.Vocabulary.Count == 0 ? -1 : b.Vocabulary.Values.Max();
            if (b.SpecialTokens is { Count: > 0 } special) max = Math.Max(max, special.Values.Max());
            return new StrongBox<int>(max + 1);
        }).Value,
        _ => null,
    };
}
