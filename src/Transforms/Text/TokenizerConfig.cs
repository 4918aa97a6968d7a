using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// Which tokenizer a TokenizeText/DetokenizeText pipeline uses, as carried in its data: a model or tokenizer folder
/// (GPT-2 BPE vocab.json + merges.txt, or a character vocab.json, with tokenizer_config.json) recorded with the SHA-256 of
/// every file the tokenizer reads (<see cref="ModelSource"/>), or a registered name.
/// </summary>
internal sealed record TokenizerConfig(ModelSource? Source, string? RegisteredName, string Column)
{
    /// <summary>The files <see cref="AutoTokenizer.FromFolder"/> reads when present.</summary>
    internal static readonly string[] TokenizerFiles = [AutoTokenizer.VocabFileName, AutoTokenizer.MergesFileName, AutoTokenizer.TokenizerConfigFileName];

    public static TokenizerConfig ForFolder(string folder, string column, string transform, IEnumerable<string>? searchPaths, bool embed)
    {
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"{transform}: tokenizer folder '{folder}' was not found.");
        var config = new TokenizerConfig(ModelSource.Capture(full, transform, [], TokenizerFiles, searchPaths, embed), null, column);
        // Loads (and checks) the tokenizer now, so a bad folder fails when the pipeline is built.
        config.Resolve();
        return config;
    }

    public static TokenizerConfig ForRegistered(string name, string column)
    {
        TokenizerRegistry.Get(name);
        return new TokenizerConfig(null, name, column);
    }

    private Tokenizer? _loaded;

    /// <summary>
    /// The tokenizer of a configuration string carried by a pipeline, for every row of the tokenize/detokenize mappings:
    /// one dictionary lookup keyed by the string itself, then the resolved tokenizer.
    /// </summary>
    public static (TokenizerConfig Config, Tokenizer Tokenizer) ResolveEncoded(string encoded)
    {
        var config = ServingCache.GetOrCreate(encoded, () => ConfiguredMapping.DecodeConfig<TokenizerConfig>(encoded));
        return (config, config.Resolve());
    }

    /// <summary>The tokenizer: registered instances are looked up on every call (they may be re-registered); folders are found, checked against their hashes and loaded once.</summary>
    public Tokenizer Resolve()
    {
        if (RegisteredName is not null)
            return TokenizerRegistry.Get(RegisteredName);
        return _loaded ??= ServingCache.GetOrCreate("tokenizer|" + Source!.ContentHash, () => AutoTokenizer.FromFolder(Source.Resolve()));
    }
}
