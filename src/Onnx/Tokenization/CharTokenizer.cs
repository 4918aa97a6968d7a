using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tokenization;

/// <summary>
/// A character-level tokenizer (as nanoGPT's Shakespeare-char model): every token is one Unicode character (scalar
/// value, so an emoji is one token) and ids index a fixed vocabulary, by default the sorted distinct characters of a corpus.
/// </summary>
/// <remarks>
/// Saved as a <c>vocab.json</c> object of character → id, next to a <c>tokenizer_config.json</c> whose
/// <c>tokenizer_class</c> is <see cref="TokenizerClassName"/> (see <see cref="SaveToFolder"/> and <see cref="AutoTokenizer"/>).
/// Characters outside the vocabulary throw, naming the character and its position, unless <see cref="UnknownTokenId"/> is set.
/// </remarks>
public sealed class CharTokenizer : Tokenizer
{
    /// <summary>The <c>tokenizer_class</c> written to tokenizer_config.json.</summary>
    public const string TokenizerClassName = "AigcCharTokenizer";

    private readonly string[] _tokens;          // id -> the character as a string
    private readonly int[] _bmpIds;             // UTF-16 code unit -> id, -1 when absent
    private readonly Dictionary<int, int> _supplementaryIds = new(); // scalar value above U+FFFF -> id
    private readonly Dictionary<string, int> _vocabulary;

    /// <summary>Creates the tokenizer from its characters in id order (id i is <paramref name="characters"/>[i]).</summary>
    /// <param name="characters">Distinct strings of exactly one Unicode character each.</param>
    /// <param name="unknownTokenId">Id given to characters outside the vocabulary; null makes them an error.</param>
    public CharTokenizer(IEnumerable<string> characters, int? unknownTokenId = null)
    {
        ArgumentNullException.ThrowIfNull(characters);
        _tokens = characters.ToArray();
        if (_tokens.Length == 0)
            throw new ArgumentException("The vocabulary is empty; a character tokenizer needs at least one character.", nameof(characters));
        _bmpIds = new int[char.MaxValue + 1];
        Array.Fill(_bmpIds, -1);
        _vocabulary = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int id = 0; id < _tokens.Length; id++)
        {
            string token = _tokens[id];
            if (!TryGetSingleRune(token, out Rune rune))
                throw new ArgumentException(
                    $"Vocabulary entry {id} ({Describe(token)}) is not exactly one Unicode character.", nameof(characters));
            if (!_vocabulary.TryAdd(token, id))
                throw new ArgumentException(
                    $"Vocabulary entry {id} ({Describe(token)}) repeats entry {_vocabulary[token]}.", nameof(characters));
            if (rune.IsBmp)
                _bmpIds[rune.Value] = id;
            else
                _supplementaryIds[rune.Value] = id;
        }
        if (unknownTokenId is int unk && (uint)unk >= (uint)_tokens.Length)
            throw new ArgumentOutOfRangeException(nameof(unknownTokenId), unk, $"The unknown-token id must be a vocabulary id (0..{_tokens.Length - 1}).");
        UnknownTokenId = unknownTokenId;
    }

    /// <summary>Builds the vocabulary from the sorted distinct characters of <paramref name="corpus"/> (ordered by code point, as nanoGPT's <c>sorted(set(text))</c>).</summary>
    /// <param name="corpus">The training text; must be well-formed UTF-16 (no lone surrogates).</param>
    /// <param name="unknownTokenId">Id given to characters outside the vocabulary; null makes them an error.</param>
    public static CharTokenizer FromCorpus(string corpus, int? unknownTokenId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(corpus);
        var seen = new HashSet<int>();
        foreach (Rune rune in EnumerateRunes(corpus, nameof(corpus)))
            seen.Add(rune.Value);
        int[] sorted = seen.ToArray();
        Array.Sort(sorted);
        return new CharTokenizer(sorted.Select(char.ConvertFromUtf32), unknownTokenId);
    }

    /// <summary>Builds the vocabulary from the sorted distinct characters of a UTF-8 text file.</summary>
    /// <param name="corpusPath">Path of the training text.</param>
    /// <param name="unknownTokenId">Id given to characters outside the vocabulary; null makes them an error.</param>
    public static CharTokenizer FromCorpusFile(string corpusPath, int? unknownTokenId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(corpusPath);
        if (!File.Exists(corpusPath))
            throw new FileNotFoundException($"Corpus file not found: '{corpusPath}'.", corpusPath);
        return FromCorpus(File.ReadAllText(corpusPath, Encoding.UTF8), unknownTokenId);
    }

    /// <summary>Creates the tokenizer from a character → id map whose ids are exactly 0..count-1.</summary>
    /// <param name="vocabulary">One-character keys and their ids.</param>
    /// <param name="unknownTokenId">Id given to characters outside the vocabulary; null makes them an error.</param>
    public static CharTokenizer FromVocabulary(IReadOnlyDictionary<string, int> vocabulary, int? unknownTokenId = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return new CharTokenizer(OrderById(vocabulary, nameof(vocabulary)), unknownTokenId);
    }

    /// <summary>Loads a vocab.json (object of one-character keys → ids 0..count-1).</summary>
    /// <param name="vocabJsonPath">Path of the vocab.json.</param>
    /// <param name="unknownTokenId">Id given to characters outside the vocabulary; null makes them an error.</param>
    public static CharTokenizer FromVocabularyFile(string vocabJsonPath, int? unknownTokenId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabJsonPath);
        if (!File.Exists(vocabJsonPath))
            throw new FileNotFoundException($"Character vocabulary file (vocab.json) not found: '{vocabJsonPath}'.", vocabJsonPath);
        using FileStream stream = File.OpenRead(vocabJsonPath);
        return new CharTokenizer(OrderById(ReadVocabulary(stream, vocabJsonPath), vocabJsonPath), unknownTokenId);
    }

    /// <summary>Loads a vocab.json (object of one-character keys → ids 0..count-1) from a stream, which is not disposed.</summary>
    /// <param name="vocabJson">The vocab.json content.</param>
    /// <param name="unknownTokenId">Id given to characters outside the vocabulary; null makes them an error.</param>
    public static CharTokenizer FromVocabulary(Stream vocabJson, int? unknownTokenId = null)
    {
        ArgumentNullException.ThrowIfNull(vocabJson);
        return new CharTokenizer(OrderById(ReadVocabulary(vocabJson, nameof(vocabJson)), nameof(vocabJson)), unknownTokenId);
    }

    /// <summary>Character → id, the content of vocab.json.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary => _vocabulary;

    /// <summary>Number of characters in the vocabulary.</summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>Id given to characters outside the vocabulary, or null when they throw.</summary>
    public int? UnknownTokenId { get; }

    /// <summary>The character of an id.</summary>
    /// <param name="id">A vocabulary id.</param>
    public string GetToken(int id)
    {
        if ((uint)id >= (uint)_tokens.Length)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id must be between 0 and {_tokens.Length - 1}.");
        return _tokens[id];
    }

    /// <summary>Writes vocab.json: a JSON object of character → id in id order.</summary>
    /// <param name="vocabJsonPath">Destination path; overwritten.</param>
    public void Save(string vocabJsonPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabJsonPath);
        using FileStream stream = File.Create(vocabJsonPath);
        Save(stream);
    }

    /// <summary>Writes vocab.json (a JSON object of character → id in id order) to a stream, which is not disposed.</summary>
    /// <param name="stream">The destination.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.WriteStartObject();
        for (int id = 0; id < _tokens.Length; id++)
            writer.WriteNumber(_tokens[id], id);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes <c>vocab.json</c> and a <c>tokenizer_config.json</c> naming <see cref="TokenizerClassName"/> (and the unknown-token
    /// id, if any) into <paramref name="folder"/>, which <see cref="AutoTokenizer.FromFolder"/> loads back.
    /// </summary>
    /// <param name="folder">Destination folder; created if missing.</param>
    public void SaveToFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        Save(Path.Combine(folder, AutoTokenizer.VocabFileName));
        using FileStream config = File.Create(Path.Combine(folder, AutoTokenizer.TokenizerConfigFileName));
        using var writer = new Utf8JsonWriter(config, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("tokenizer_class", TokenizerClassName);
        if (UnknownTokenId is int unk)
            writer.WriteNumber(AutoTokenizer.UnknownTokenIdKey, unk);
        writer.WriteEndObject();
    }

    /// <inheritdoc/>
    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        ReadOnlySpan<char> span = text is null ? textSpan : text.AsSpan();
        int max = settings.MaxTokenCount;
        var tokens = new List<EncodedToken>(Math.Min(span.Length, max));
        int i = 0;
        while (i < span.Length && tokens.Count < max)
        {
            int id = NextId(span, i, out int length);
            tokens.Add(new EncodedToken(id, _tokens[id], new Range(i, i + length)));
            i += length;
        }
        return new EncodeResults<EncodedToken> { Tokens = tokens, NormalizedText = null, CharsConsumed = i };
    }

    /// <inheritdoc/>
    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        ReadOnlySpan<char> span = text is null ? textSpan : text.AsSpan();
        int max = settings.MaxTokenCount;
        var ids = new List<int>(Math.Min(span.Length, max));
        int i = 0;
        while (i < span.Length && ids.Count < max)
        {
            ids.Add(NextId(span, i, out int length));
            i += length;
        }
        return new EncodeResults<int> { Tokens = ids, NormalizedText = null, CharsConsumed = i };
    }

    /// <inheritdoc/>
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        ReadOnlySpan<char> span = text is null ? textSpan : text.AsSpan();
        int count = 0, i = 0;
        while (i < span.Length && count < settings.MaxTokenCount)
        {
            NextId(span, i, out int length);
            i += length;
            count++;
        }
        return count;
    }

    /// <inheritdoc/>
    protected override int GetIndexByTokenCount(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd, out string? normalizedText, out int tokenCount)
    {
        ReadOnlySpan<char> span = text is null ? textSpan : text.AsSpan();
        normalizedText = null;
        tokenCount = 0;
        int max = settings.MaxTokenCount;
        if (!fromEnd)
        {
            int i = 0;
            while (i < span.Length && tokenCount < max)
            {
                NextId(span, i, out int length);
                i += length;
                tokenCount++;
            }
            return i;
        }
        int start = span.Length;
        while (start > 0 && tokenCount < max)
        {
            int length = start >= 2 && char.IsLowSurrogate(span[start - 1]) && char.IsHighSurrogate(span[start - 2]) ? 2 : 1;
            NextId(span, start - length, out _);
            start -= length;
            tokenCount++;
        }
        return start;
    }

    /// <inheritdoc/>
    public override string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is outside the vocabulary (0..{_tokens.Length - 1}).");
            sb.Append(_tokens[id]);
        }
        return sb.ToString();
    }

    /// <inheritdoc/>
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        idsConsumed = 0;
        charsWritten = 0;
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length)
                return OperationStatus.InvalidData;
            string token = _tokens[id];
            if (!token.AsSpan().TryCopyTo(destination.Slice(charsWritten)))
                return OperationStatus.DestinationTooSmall;
            charsWritten += token.Length;
            idsConsumed++;
        }
        return OperationStatus.Done;
    }

    /// <summary>Id of the character at <paramref name="index"/>; <paramref name="length"/> is its UTF-16 length (1 or 2).</summary>
    private int NextId(ReadOnlySpan<char> text, int index, out int length)
    {
        char c = text[index];
        int id;
        if (!char.IsSurrogate(c))
        {
            length = 1;
            id = _bmpIds[c];
        }
        else if (Rune.DecodeFromUtf16(text.Slice(index), out Rune rune, out length) == OperationStatus.Done)
        {
            id = _supplementaryIds.TryGetValue(rune.Value, out int found) ? found : -1;
        }
        else
        {
            length = 1; // a lone surrogate is never in the vocabulary
            id = -1;
        }
        if (id >= 0)
            return id;
        if (UnknownTokenId is int unk)
            return unk;
        string character = text.Slice(index, length).ToString();
        throw new ArgumentException(
            $"Character {Describe(character)} at position {index} is not in the character vocabulary ({_tokens.Length} characters); " +
            "rebuild the tokenizer from a corpus containing it or set unknownTokenId.", "text");
    }

    private static string Describe(string s)
    {
        var sb = new StringBuilder();
        sb.Append('\'');
        foreach (char c in s)
            sb.Append(char.IsControl(c) || char.IsSurrogate(c) || char.IsWhiteSpace(c) ? $"\\u{(int)c:X4}" : c.ToString());
        sb.Append("' (");
        if (TryGetSingleRune(s, out Rune r))
            sb.Append(CultureInfo.InvariantCulture, $"U+{r.Value:X4}");
        else
            sb.Append(string.Join(" ", s.Select(c => $"U+{(int)c:X4}")));
        sb.Append(')');
        return sb.ToString();
    }

    private static bool TryGetSingleRune(string? s, out Rune rune)
    {
        rune = default;
        return !string.IsNullOrEmpty(s)
            && Rune.DecodeFromUtf16(s, out rune, out int consumed) == OperationStatus.Done
            && consumed == s.Length;
    }

    private static IEnumerable<Rune> EnumerateRunes(string text, string name)
    {
        for (int i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out Rune rune, out int consumed) != OperationStatus.Done)
                throw new ArgumentException($"{name} has a lone surrogate U+{(int)text[i]:X4} at position {i}; expected well-formed text.", name);
            yield return rune;
            i += consumed;
        }
    }

    private static Dictionary<string, int> ReadVocabulary(Stream stream, string name)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, int>>(stream)
                ?? throw new InvalidDataException($"'{name}' holds JSON null; expected an object of character → id.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{name}' is not a character vocab.json (a JSON object of one-character string → integer id): {e.Message}", e);
        }
    }

    private static string[] OrderById(IReadOnlyDictionary<string, int> vocabulary, string name)
    {
        var tokens = new string?[vocabulary.Count];
        foreach ((string token, int id) in vocabulary)
        {
            if ((uint)id >= (uint)tokens.Length)
                throw new InvalidDataException($"'{name}': id {id} of {Describe(token)} is outside 0..{tokens.Length - 1}; ids must be exactly 0..count-1.");
            if (tokens[id] is { } other)
                throw new InvalidDataException($"'{name}': id {id} is given to both {Describe(other)} and {Describe(token)}.");
            if (!TryGetSingleRune(token, out _))
                throw new InvalidDataException($"'{name}': key {Describe(token)} (id {id}) is not exactly one Unicode character.");
            tokens[id] = token;
        }
        return tokens!;
    }
}
