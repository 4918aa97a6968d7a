using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tokenization;

/// <summary>
/// Loads the tokenizer stored in a model folder, like Hugging Face <c>AutoTokenizer.from_pretrained(folder)</c> for the
/// tokenizers this library supports: GPT-2 byte-level BPE and <see cref="CharTokenizer"/>.
/// </summary>
public static class AutoTokenizer
{
    /// <summary>File name of the vocabulary (token → id).</summary>
    public const string VocabFileName = "vocab.json";

    /// <summary>File name of the BPE merges.</summary>
    public const string MergesFileName = "merges.txt";

    /// <summary>File name of the tokenizer configuration.</summary>
    public const string TokenizerConfigFileName = "tokenizer_config.json";

    /// <summary>Key of tokenizer_config.json holding a <see cref="CharTokenizer"/>'s unknown-token id.</summary>
    public const string UnknownTokenIdKey = "unk_token_id";

    /// <summary>
    /// Loads the folder's tokenizer: with <c>merges.txt</c> and <c>vocab.json</c>, GPT-2 byte-level BPE
    /// (<see cref="Gpt2Tokenizer"/>); with only <c>vocab.json</c> whose keys are single characters (tokenizer_config.json
    /// <c>"tokenizer_class": "AigcCharTokenizer"</c>), a <see cref="CharTokenizer"/>.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>A <see cref="BpeTokenizer"/> or a <see cref="CharTokenizer"/>.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder holds no supported tokenizer; the message lists the files expected.</exception>
    /// <exception cref="InvalidDataException">A tokenizer file is malformed or contradicts tokenizer_config.json.</exception>
    public static Tokenizer FromFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Tokenizer folder not found: '{folder}'.");
        string vocab = Path.Combine(folder, VocabFileName);
        string merges = Path.Combine(folder, MergesFileName);
        string config = Path.Combine(folder, TokenizerConfigFileName);
        (string? tokenizerClass, int? unknownTokenId) = ReadConfig(config);

        if (File.Exists(merges))
        {
            if (!File.Exists(vocab))
                throw new FileNotFoundException(
                    $"'{folder}' has {MergesFileName} but no {VocabFileName}; a GPT-2 BPE tokenizer needs both.", vocab);
            if (tokenizerClass == CharTokenizer.TokenizerClassName)
                throw new InvalidDataException(
                    $"'{config}' says tokenizer_class \"{tokenizerClass}\" but '{folder}' has {MergesFileName}, which only BPE tokenizers use.");
            return Gpt2Tokenizer.Create(vocab, merges);
        }

        if (File.Exists(vocab))
        {
            try
            {
                return CharTokenizer.FromVocabularyFile(vocab, unknownTokenId);
            }
            catch (InvalidDataException e)
            {
                if (tokenizerClass == CharTokenizer.TokenizerClassName)
                    throw;
                throw new FileNotFoundException(
                    $"'{folder}' has {VocabFileName} but no {MergesFileName}, and {VocabFileName} is not a character vocabulary ({e.Message}). " +
                    $"Expected {VocabFileName} + {MergesFileName} (GPT-2 byte-level BPE) or a {VocabFileName} of single characters with {TokenizerConfigFileName} tokenizer_class \"{CharTokenizer.TokenizerClassName}\".",
                    merges, e);
            }
        }

        string found = string.Join(", ", Directory.EnumerateFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(20));
        throw new FileNotFoundException(
            $"No supported tokenizer in '{folder}'. Expected {VocabFileName} + {MergesFileName} (GPT-2 byte-level BPE) or {VocabFileName} " +
            $"of single characters + {TokenizerConfigFileName} with tokenizer_class \"{CharTokenizer.TokenizerClassName}\". Found: {(found.Length == 0 ? "no files" : found)}.",
            vocab);
    }

    private static (string? TokenizerClass, int? UnknownTokenId) ReadConfig(string path)
    {
        if (!File.Exists(path))
            return (null, null);
        try
        {
            using FileStream stream = File.OpenRead(path);
            using JsonDocument doc = JsonDocument.Parse(stream);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{path}' must hold a JSON object.");
            string? cls = doc.RootElement.TryGetProperty("tokenizer_class", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            int? unk = doc.RootElement.TryGetProperty(UnknownTokenIdKey, out JsonElement u) && u.ValueKind == JsonValueKind.Number ? u.GetInt32() : null;
            return (cls, unk);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }
}
