using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// Which tokenizer a TokenizeText/DetokenizeText pipeline uses, as carried in its data: a model or tokenizer folder
/// (GPT-2 BPE vocab.json + merges.txt, or a character vocab.json) with the SHA-256 of its files, or a registered name.
/// </summary>
internal sealed record TokenizerConfig(string? Folder, string? VocabSha256, string? MergesSha256, string? RegisteredName, string Column)
{
    public static TokenizerConfig ForFolder(string folder, string column)
    {
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"Tokenizer folder '{folder}' was not found.");
        var config = new TokenizerConfig(full, HashOrNull(Path.Combine(full, AutoTokenizer.VocabFileName)),
            HashOrNull(Path.Combine(full, AutoTokenizer.MergesFileName)), null, column);
        config.Resolve();
        return config;
    }

    public static TokenizerConfig ForRegistered(string name, string column)
    {
        TokenizerRegistry.Get(name);
        return new TokenizerConfig(null, null, null, name, column);
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

    /// <summary>The tokenizer: registered instances are looked up on every call (they may be re-registered); folders are loaded once and checked against their hashes.</summary>
    public Tokenizer Resolve()
    {
        if (RegisteredName is not null)
            return TokenizerRegistry.Get(RegisteredName);
        return _loaded ??= ServingCache.GetOrCreate("tokenizer|" + Folder + "|" + VocabSha256 + "|" + MergesSha256, () =>
        {
            Verify(AutoTokenizer.VocabFileName, VocabSha256);
            Verify(AutoTokenizer.MergesFileName, MergesSha256);
            return AutoTokenizer.FromFolder(Folder!);
        });
    }

    private void Verify(string file, string? expected)
    {
        string path = Path.Combine(Folder!, file);
        if (expected is null)
        {
            if (File.Exists(path))
                throw new InvalidDataException($"Tokenizer file '{path}' appeared since this pipeline was built; rebuild the pipeline.");
            return;
        }
        FileFingerprint.Verify(path, expected, "tokenizer file");
    }

    private static string? HashOrNull(string path) => File.Exists(path) ? FileFingerprint.Sha256(path) : null;
}
