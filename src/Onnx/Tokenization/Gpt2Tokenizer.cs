using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tokenization;

/// <summary>
/// Creates the GPT-2 byte-level BPE tokenizer (also used by DistilGPT-2, GPT-Neo, GPT-J...) from the Hugging Face files
/// <c>vocab.json</c> and <c>merges.txt</c>, reproducing the ids of OpenAI's <c>encoder.py</c> and Hugging Face's <c>GPT2Tokenizer</c>.
/// </summary>
/// <remarks>
/// Built on <see cref="BpeTokenizer"/> with <see cref="BpeOptions.ByteLevel"/> and GPT-2's pre-tokenization regex, plus
/// <c>&lt;|endoftext|&gt;</c> registered as a special token so that it encodes to one id (50256) instead of seven.
/// </remarks>
public static class Gpt2Tokenizer
{
    /// <summary>The end-of-text marker; GPT-2 uses it as BOS, EOS and document separator.</summary>
    public const string EndOfTextToken = "<|endoftext|>";

    /// <summary>The id of <see cref="EndOfTextToken"/> in GPT-2's vocabulary.</summary>
    public const int EndOfTextTokenId = 50256;

    /// <summary>GPT-2's pre-tokenization pattern (<c>encoder.py</c>): contractions, letter runs, digit runs, other symbols, whitespace.</summary>
    public const string PreTokenizerPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly Regex s_preTokenizerRegex = new(PreTokenizerPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>Loads the tokenizer from a <c>vocab.json</c> (token → id) and a <c>merges.txt</c> (ranked pairs).</summary>
    /// <param name="vocabJsonPath">Path of vocab.json (GPT-2's encoder.json).</param>
    /// <param name="mergesPath">Path of merges.txt (GPT-2's vocab.bpe); a leading <c>#version</c> line is allowed.</param>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">A file is not in the expected format.</exception>
    public static BpeTokenizer Create(string vocabJsonPath, string mergesPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabJsonPath);
        ArgumentException.ThrowIfNullOrEmpty(mergesPath);
        if (!File.Exists(vocabJsonPath))
            throw new FileNotFoundException($"GPT-2 vocabulary file (vocab.json) not found: '{vocabJsonPath}'.", vocabJsonPath);
        if (!File.Exists(mergesPath))
            throw new FileNotFoundException($"GPT-2 merges file (merges.txt) not found: '{mergesPath}'.", mergesPath);
        using FileStream vocab = File.OpenRead(vocabJsonPath);
        using FileStream merges = File.OpenRead(mergesPath);
        return Create(vocab, merges, vocabJsonPath, mergesPath);
    }

    /// <summary>Loads the tokenizer from streams holding <c>vocab.json</c> and <c>merges.txt</c>; the streams are read to the end and not disposed.</summary>
    /// <param name="vocabJson">The vocab.json content (a JSON object of token → id).</param>
    /// <param name="merges">The merges.txt content (one "left right" pair per line, best first).</param>
    /// <exception cref="InvalidDataException">A stream is not in the expected format.</exception>
    public static BpeTokenizer Create(Stream vocabJson, Stream merges)
        => Create(vocabJson, merges, nameof(vocabJson), nameof(merges));

    /// <summary>
    /// A pre-tokenizer that splits text with GPT-2's pattern and keeps each of <paramref name="specialTokens"/> whole.
    /// </summary>
    /// <param name="specialTokens">Special tokens and their ids, or null.</param>
    public static PreTokenizer CreatePreTokenizer(IReadOnlyDictionary<string, int>? specialTokens)
        => new RegexPreTokenizer(s_preTokenizerRegex, specialTokens);

    private static BpeTokenizer Create(Stream vocabJson, Stream merges, string vocabName, string mergesName)
    {
        ArgumentNullException.ThrowIfNull(vocabJson);
        ArgumentNullException.ThrowIfNull(merges);
        Dictionary<string, int> vocabulary = ReadVocabulary(vocabJson, vocabName);
        List<string> mergeLines = ReadMerges(merges, mergesName);

        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (vocabulary.TryGetValue(EndOfTextToken, out int eot))
            special[EndOfTextToken] = eot;

        var options = new BpeOptions(vocabulary)
        {
            Merges = mergeLines,
            ByteLevel = true,
            PreTokenizer = CreatePreTokenizer(special.Count > 0 ? special : null),
            SpecialTokens = special.Count > 0 ? special : null,
        };
        try
        {
            return BpeTokenizer.Create(options);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Could not build the GPT-2 tokenizer from '{vocabName}' and '{mergesName}': {e.Message}", e);
        }
    }

    private static Dictionary<string, int> ReadVocabulary(Stream stream, string name)
    {
        try
        {
            var vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(stream)
                ?? throw new InvalidDataException($"'{name}' holds JSON null; expected an object of token → id.");
            if (vocabulary.Count == 0)
                throw new InvalidDataException($"'{name}' is an empty vocabulary; expected an object of token → id.");
            return vocabulary;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{name}' is not a vocab.json (a JSON object of token string → integer id): {e.Message}", e);
        }
    }

    private static List<string> ReadMerges(Stream stream, string name)
    {
        var lines = new List<string>(50_000);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
                continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new InvalidDataException($"'{name}' line {lineNumber} is \"{line}\"; expected two tokens separated by one space.");
            lines.Add(line);
        }
        if (lines.Count == 0)
            throw new InvalidDataException($"'{name}' holds no merges; expected lines of \"left right\" token pairs.");
        return lines;
    }
}
