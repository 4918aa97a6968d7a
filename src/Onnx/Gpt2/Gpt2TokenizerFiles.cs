using System.Text;
using System.Text.Json;
using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Onnx.Gpt2;

/// <summary>
/// The tokenizer an exported GPT-2 folder carries: GPT-2 byte-level BPE (<c>vocab.json</c> + <c>merges.txt</c>, from
/// which <c>tokenizer.json</c> is generated) or a character vocabulary (one character per id, tokenizer class
/// <see cref="CharTokenizerClass"/>).
/// </summary>
public sealed class Gpt2TokenizerFiles
{
    /// <summary>The <c>tokenizer_class</c> written for character-level vocabularies.</summary>
    public const string CharTokenizerClass = "AigcCharTokenizer";

    /// <summary>GPT-2's end-of-text token.</summary>
    public const string EndOfText = "<|endoftext|>";

    private readonly string? _vocabPath;
    private readonly string? _mergesPath;
    private readonly string[]? _chars;

    private Gpt2TokenizerFiles(string? vocabPath, string? mergesPath, string[]? chars)
    {
        _vocabPath = vocabPath;
        _mergesPath = mergesPath;
        _chars = chars;
    }

    /// <summary>True for a character vocabulary, false for byte-level BPE.</summary>
    public bool IsCharacterLevel => _chars is not null;

    /// <summary>Characters in id order (character-level only).</summary>
    public IReadOnlyList<string>? Characters => _chars;

    /// <summary>GPT-2 byte-level BPE from Hugging Face <c>vocab.json</c> (= encoder.json) and <c>merges.txt</c> (= vocab.bpe).</summary>
    public static Gpt2TokenizerFiles Bpe(string vocabJsonPath, string mergesPath)
    {
        if (!File.Exists(vocabJsonPath)) throw new FileNotFoundException($"BPE vocabulary not found: '{vocabJsonPath}'.", vocabJsonPath);
        if (!File.Exists(mergesPath)) throw new FileNotFoundException($"BPE merges not found: '{mergesPath}'.", mergesPath);
        return new Gpt2TokenizerFiles(Path.GetFullPath(vocabJsonPath), Path.GetFullPath(mergesPath), null);
    }

    /// <summary>A character vocabulary: id i is <paramref name="charactersInIdOrder"/>[i], each exactly one Unicode character.</summary>
    public static Gpt2TokenizerFiles CharacterLevel(IEnumerable<string> charactersInIdOrder)
    {
        ArgumentNullException.ThrowIfNull(charactersInIdOrder);
        string[] chars = charactersInIdOrder.ToArray();
        if (chars.Length == 0) throw new ArgumentException("A character vocabulary needs at least one character.", nameof(charactersInIdOrder));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < chars.Length; i++)
        {
            string ch = chars[i] ?? throw new ArgumentException($"Character vocabulary entry {i} is null.", nameof(charactersInIdOrder));
            if (ch.Length == 0 || !Rune.TryGetRuneAt(ch, 0, out Rune r) || r.Utf16SequenceLength != ch.Length)
                throw new ArgumentException($"Character vocabulary entry {i} (\"{ch}\") must be exactly one character.", nameof(charactersInIdOrder));
            if (!seen.Add(ch))
                throw new ArgumentException($"Character vocabulary entry {i} (\"{ch}\") is a duplicate.", nameof(charactersInIdOrder));
        }
        return new Gpt2TokenizerFiles(null, null, chars);
    }

    /// <summary>A character vocabulary from the distinct characters of <paramref name="text"/>, sorted by code point (as nanoGPT does).</summary>
    public static Gpt2TokenizerFiles CharacterLevelFromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Rune r in text.EnumerateRunes()) set.Add(r.ToString());
        return CharacterLevel(set);
    }

    /// <summary>Number of entries of the vocabulary (reads vocab.json for BPE).</summary>
    public int Count() => _chars?.Length ?? ReadVocab().Count;

    private List<(string Token, int Id)> ReadVocab()
    {
        using var doc = ParseJson(_vocabPath!);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"'{_vocabPath}' must be a JSON object mapping tokens to ids.");
        var list = new List<(string, int)>();
        var ids = new HashSet<int>();
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                throw new InvalidDataException($"'{_vocabPath}': token \"{p.Name}\" has id {p.Value.GetRawText()}, expected a non-negative integer.");
            if (!ids.Add(id)) throw new InvalidDataException($"'{_vocabPath}': id {id} is used twice (token \"{p.Name}\").");
            list.Add((p.Name, id));
        }
        return list;
    }

    private static JsonDocument ParseJson(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException ex) { throw new InvalidDataException($"'{path}' is not valid JSON: {ex.Message}", ex); }
    }

    private List<string> ReadMerges()
    {
        var merges = new List<string>();
        int lineNo = 0;
        foreach (string raw in File.ReadLines(_mergesPath!))
        {
            lineNo++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || (lineNo == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new InvalidDataException($"'{_mergesPath}' line {lineNo}: expected two tokens separated by one space, got \"{line}\".");
            merges.Add(line);
        }
        return merges;
    }

    /// <summary>Writes the tokenizer files into <paramref name="folder"/> (atomically) and removes files of the other kind.</summary>
    public void WriteTo(string folder, Gpt2Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Directory.CreateDirectory(folder);
        if (_chars is not null) WriteCharLevel(folder, config);
        else WriteBpe(folder, config);
    }

    private void WriteCharLevel(string folder, Gpt2Config config)
    {
        if (_chars!.Length > config.VocabSize)
            throw new ArgumentException($"The character vocabulary has {_chars.Length} entries but the model's vocab_size is {config.VocabSize}.");
        AtomicFile.Write(Path.Combine(folder, "vocab.json"), s =>
        {
            using var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            w.WriteStartObject();
            for (int i = 0; i < _chars.Length; i++) w.WriteNumber(_chars[i], i);
            w.WriteEndObject();
        });
        WriteJson(Path.Combine(folder, "tokenizer_config.json"), w =>
        {
            w.WriteString("tokenizer_class", CharTokenizerClass);
            w.WriteNumber("model_max_length", config.MaxPositions);
            w.WriteNumber("vocab_size", _chars.Length);
        });
        foreach (string stale in new[] { "merges.txt", "tokenizer.json", "special_tokens_map.json" })
            File.Delete(Path.Combine(folder, stale));
    }

    private void WriteBpe(string folder, Gpt2Config config)
    {
        List<(string Token, int Id)> vocab = ReadVocab();
        int maxId = vocab.Count == 0 ? -1 : vocab.Max(v => v.Id);
        if (maxId >= config.VocabSize)
            throw new ArgumentException($"'{_vocabPath}' has id {maxId} but the model's vocab_size is {config.VocabSize}.");
        List<string> merges = ReadMerges();
        int? eot = null;
        foreach (var (token, id) in vocab)
            if (token == EndOfText) eot = id;

        AtomicFile.Copy(_vocabPath!, Path.Combine(folder, "vocab.json"));
        AtomicFile.Copy(_mergesPath!, Path.Combine(folder, "merges.txt"));

        // Hugging Face fast-tokenizer JSON: BPE model, ByteLevel pre-tokenizer/post-processor/decoder.
        AtomicFile.Write(Path.Combine(folder, "tokenizer.json"), s =>
        {
            using var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            if (eot is int id)
            {
                w.WriteStartObject();
                w.WriteNumber("id", id);
                w.WriteString("content", EndOfText);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", true);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNull("normalizer");
            ByteLevel(w, "pre_tokenizer", addPrefixSpace: false, trimOffsets: true);
            ByteLevel(w, "post_processor", addPrefixSpace: true, trimOffsets: false);
            ByteLevel(w, "decoder", addPrefixSpace: true, trimOffsets: true);
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteString("continuing_subword_prefix", "");
            w.WriteString("end_of_word_suffix", "");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            foreach (var (token, tokenId) in vocab) w.WriteNumber(token, tokenId);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (string m in merges) w.WriteStringValue(m);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        });

        WriteJson(Path.Combine(folder, "tokenizer_config.json"), w =>
        {
            w.WriteBoolean("add_prefix_space", false);
            if (eot is int id)
            {
                w.WriteStartObject("added_tokens_decoder");
                w.WriteStartObject(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("content", EndOfText);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("normalized", true);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteString("bos_token", EndOfText);
                w.WriteString("eos_token", EndOfText);
                w.WriteString("unk_token", EndOfText);
            }
            w.WriteBoolean("clean_up_tokenization_spaces", false);
            w.WriteNumber("model_max_length", config.MaxPositions);
            w.WriteString("tokenizer_class", "GPT2Tokenizer");
        });
        if (eot is not null)
            WriteJson(Path.Combine(folder, "special_tokens_map.json"), w =>
            {
                w.WriteString("bos_token", EndOfText);
                w.WriteString("eos_token", EndOfText);
                w.WriteString("unk_token", EndOfText);
            });
    }

    private static void ByteLevel(Utf8JsonWriter w, string property, bool addPrefixSpace, bool trimOffsets)
    {
        w.WriteStartObject(property);
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", addPrefixSpace);
        w.WriteBoolean("trim_offsets", trimOffsets);
        w.WriteBoolean("use_regex", true);
        w.WriteEndObject();
    }

    internal static void WriteJson(string path, Action<Utf8JsonWriter> body) =>
        AtomicFile.Write(path, s =>
        {
            using var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        });
}
