using Aigc.MLNet.Onnx.Proto;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tokenization;

/// <summary>
/// The vocabulary of a masked language model: a base vocabulary (characters of a corpus, or GPT-2's byte-level BPE) plus
/// one mask token whose id is the base vocabulary size. The literal mask text (e.g. "[MASK]") in input text encodes to
/// the mask id.
/// </summary>
/// <remarks>
/// With GPT-2 BPE one space before a mask is absorbed by it (as RoBERTa's <c>&lt;mask&gt;</c>): BPE tokens carry their
/// leading space, so "The [MASK] sat" masks one token such as " cat". With characters a mask stands for exactly one character.
/// Saved beside the model as <c>vocab.json</c> (+ <c>merges.txt</c> for BPE); the mask token is recorded in <c>mlm_config.json</c>.
/// </remarks>
public sealed class MaskedLMTokenizer
{
    /// <summary>The default mask text.</summary>
    public const string DefaultMaskToken = "[MASK]";

    /// <summary>Vocabulary kind: characters.</summary>
    public const string CharactersKind = "characters";

    /// <summary>Vocabulary kind: GPT-2 byte-level BPE.</summary>
    public const string Gpt2BpeKind = "gpt2_bpe";

    private readonly Tokenizer _inner;
    private readonly CharTokenizer? _chars;
    private readonly string? _vocabPath;
    private readonly string? _mergesPath;

    private MaskedLMTokenizer(Tokenizer inner, string kind, int baseSize, string maskToken, CharTokenizer? chars, string? vocabPath, string? mergesPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(maskToken);
        _inner = inner;
        _chars = chars;
        _vocabPath = vocabPath;
        _mergesPath = mergesPath;
        Kind = kind;
        BaseVocabularySize = baseSize;
        MaskToken = maskToken;
    }

    /// <summary>A character vocabulary plus the mask token.</summary>
    /// <param name="characters">The base character vocabulary.</param>
    /// <param name="maskToken">The mask text recognised in input.</param>
    public static MaskedLMTokenizer ForCharacters(CharTokenizer characters, string maskToken = DefaultMaskToken)
    {
        ArgumentNullException.ThrowIfNull(characters);
        return new MaskedLMTokenizer(characters, CharactersKind, characters.VocabularySize, maskToken, characters, null, null);
    }

    /// <summary>GPT-2's BPE vocabulary (50,257 ids) plus the mask token (id 50,257).</summary>
    /// <param name="vocabJsonPath">GPT-2 vocab.json.</param>
    /// <param name="mergesPath">GPT-2 merges.txt.</param>
    /// <param name="maskToken">The mask text recognised in input.</param>
    public static MaskedLMTokenizer ForGpt2(string vocabJsonPath, string mergesPath, string maskToken = DefaultMaskToken)
    {
        if (!File.Exists(vocabJsonPath))
            throw new FileNotFoundException($"GPT-2 vocab.json '{vocabJsonPath}' was not found.", vocabJsonPath);
        if (!File.Exists(mergesPath))
            throw new FileNotFoundException($"GPT-2 merges.txt '{mergesPath}' was not found.", mergesPath);
        var bpe = Gpt2Tokenizer.Create(vocabJsonPath, mergesPath);
        return new MaskedLMTokenizer(bpe, Gpt2BpeKind, bpe.Vocabulary.Count, maskToken, null, Path.GetFullPath(vocabJsonPath), Path.GetFullPath(mergesPath));
    }

    /// <summary>Loads the tokenizer files of a model folder described by <paramref name="config"/>.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="config">Its mlm_config.json.</param>
    public static MaskedLMTokenizer Load(string folder, Runtime.MaskedLMConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string vocab = Path.Combine(folder, "vocab.json");
        var tokenizer = config.Vocabulary == Gpt2BpeKind
            ? ForGpt2(vocab, Path.Combine(folder, "merges.txt"), config.MaskToken)
            : ForCharacters(CharTokenizer.FromVocabularyFile(vocab), config.MaskToken);
        if (tokenizer.MaskTokenId != config.MaskTokenId || tokenizer.VocabularySize != config.VocabSize)
            throw new InvalidDataException(
                $"The tokenizer files in '{folder}' give {tokenizer.VocabularySize} ids with the mask at {tokenizer.MaskTokenId}; {Runtime.MaskedLMConfig.FileName} says {config.VocabSize} and {config.MaskTokenId}.");
        return tokenizer;
    }

    /// <summary><see cref="CharactersKind"/> or <see cref="Gpt2BpeKind"/>.</summary>
    public string Kind { get; }

    /// <summary>The mask text recognised in input.</summary>
    public string MaskToken { get; }

    /// <summary>Ids of the base vocabulary (the mask id equals this).</summary>
    public int BaseVocabularySize { get; }

    /// <summary>Id of the mask token.</summary>
    public int MaskTokenId => BaseVocabularySize;

    /// <summary>Model vocabulary size: base vocabulary plus the mask.</summary>
    public int VocabularySize => BaseVocabularySize + 1;

    /// <summary>Token ids of <paramref name="text"/>; every occurrence of <see cref="MaskToken"/> becomes <see cref="MaskTokenId"/>.</summary>
    /// <param name="text">The text.</param>
    /// <exception cref="ArgumentException">A character is outside a character vocabulary.</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        int start = 0;
        while (true)
        {
            int at = text.IndexOf(MaskToken, start, StringComparison.Ordinal);
            int end = at < 0 ? text.Length : at;
            // BPE: the mask absorbs one preceding space (its token carries the space).
            int segmentEnd = at >= 0 && Kind == Gpt2BpeKind && end > start && text[end - 1] == ' ' ? end - 1 : end;
            if (segmentEnd > start)
                ids.AddRange(_inner.EncodeToIds(text.Substring(start, segmentEnd - start)));
            if (at < 0)
                break;
            ids.Add(MaskTokenId);
            start = at + MaskToken.Length;
        }
        return ids.ToArray();
    }

    /// <summary>The text of one token (the mask text for <see cref="MaskTokenId"/>).</summary>
    /// <param name="id">A vocabulary id.</param>
    public string Decode(int id)
    {
        if ((uint)id >= (uint)VocabularySize)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id must be in [0, {VocabularySize}).");
        if (id == MaskTokenId)
            return MaskToken;
        return _chars is not null ? _chars.GetToken(id) : _inner.Decode([id]) ?? "";
    }

    /// <summary>Text of a sequence of ids (mask ids become the mask text).</summary>
    /// <param name="ids">Vocabulary ids.</param>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sb = new System.Text.StringBuilder();
        var run = new List<int>();
        void Flush()
        {
            if (run.Count > 0)
                sb.Append(_inner.Decode(run));
            run.Clear();
        }
        foreach (int id in ids)
        {
            if (id == MaskTokenId)
            {
                Flush();
                sb.Append(MaskToken);
            }
            else
            {
                if ((uint)id >= (uint)BaseVocabularySize)
                    throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id must be in [0, {VocabularySize}).");
                run.Add(id);
            }
        }
        Flush();
        return sb.ToString();
    }

    /// <summary>Writes vocab.json (and merges.txt for BPE) into <paramref name="folder"/>, atomically.</summary>
    /// <param name="folder">The model folder (created when missing).</param>
    public void SaveToFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        string vocab = Path.Combine(folder, "vocab.json");
        if (_chars is not null)
        {
            AtomicFile.Write(vocab, _chars.Save);
            return;
        }
        CopyAtomically(_vocabPath!, vocab);
        CopyAtomically(_mergesPath!, Path.Combine(folder, "merges.txt"));
    }

    private static void CopyAtomically(string source, string destination)
    {
        if (string.Equals(Path.GetFullPath(source), Path.GetFullPath(destination), StringComparison.Ordinal))
            return;
        AtomicFile.Write(destination, stream =>
        {
            using var input = File.OpenRead(source);
            input.CopyTo(stream);
        });
    }
}
