using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tokenization;

/// <summary>
/// Turns generated token ids, fed one at a time, into text deltas for streaming (like Hugging Face <c>TextStreamer</c>):
/// the concatenation of all deltas plus <see cref="Flush"/> equals decoding all ids at once, and no delta ends inside a
/// character: bytes of an incomplete UTF-8 sequence (byte-level BPE splits multi-byte characters across tokens) are held
/// back until the character is complete, and surrogate pairs are never split.
/// </summary>
/// <remarks>
/// Each <see cref="Append"/> costs O(length of the new token): byte-level BPE (<see cref="BpeTokenizer"/> with
/// <see cref="BpeTokenizer.ByteLevel"/>) goes through a precomputed id → bytes table and an incremental UTF-8 decoder;
/// <see cref="CharTokenizer"/> maps ids straight to characters; other tokenizers decode only the short window of ids since
/// the last emitted text. One instance per generated sequence; not thread-safe.
/// </remarks>
public sealed class StreamingDetokenizer
{
    // Built once per tokenizer (about 50k small arrays for GPT-2) and released with it.
    private static readonly ConditionalWeakTable<BpeTokenizer, byte[]?[]?[]> s_byteTables = new();

    private readonly Tokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;

    // Byte-level BPE path.
    private readonly byte[]?[]? _tokenBytes;   // id -> UTF-8 bytes; null entry = id skipped (special token when skipping)
    private readonly Decoder? _utf8;
    private char[] _chars = new char[64];

    // Character path.
    private readonly CharTokenizer? _charTokenizer;

    // Generic path: ids since the last emitted text, plus the ids already emitted that start the decode window.
    private readonly List<int>? _window;
    private int _windowReadOffset;

    /// <summary>Creates a streaming detokenizer for one sequence.</summary>
    /// <param name="tokenizer">The tokenizer that produced the ids.</param>
    /// <param name="skipSpecialTokens">
    /// When true, special tokens (e.g. <c>&lt;|endoftext|&gt;</c>) produce no text, as HF <c>skip_special_tokens</c>; when
    /// false (default) their text is emitted, matching <see cref="Tokenizer.Decode(IEnumerable{int})"/>.
    /// </param>
    public StreamingDetokenizer(Tokenizer tokenizer, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
        if (tokenizer is BpeTokenizer { ByteLevel: true } bpe)
        {
            _tokenBytes = GetByteTable(bpe, skipSpecialTokens);
            _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
        }
        else if (tokenizer is CharTokenizer chars)
        {
            _charTokenizer = chars;
        }
        else
        {
            _window = new List<int>();
        }
    }

    /// <summary>Adds the next generated id and returns the text that is now complete (possibly empty, never half a character).</summary>
    /// <param name="tokenId">The generated token id.</param>
    public string Append(int tokenId)
    {
        if (_tokenBytes is not null)
        {
            if ((uint)tokenId >= (uint)_tokenBytes.Length)
                throw new ArgumentOutOfRangeException(nameof(tokenId), tokenId, $"Token id {tokenId} is outside the vocabulary (0..{_tokenBytes.Length - 1}).");
            byte[]? bytes = _tokenBytes[tokenId];
            if (bytes is null)
                return string.Empty;
            return DecodeBytes(bytes, flush: false);
        }
        if (_charTokenizer is not null)
            return _charTokenizer.GetToken(tokenId);
        return AppendGeneric(tokenId);
    }

    /// <summary>Returns the text still held back at the end of generation (an incomplete character decodes to U+FFFD, as a full decode does) and resets the state.</summary>
    public string Flush()
    {
        if (_utf8 is not null)
            return DecodeBytes([], flush: true);
        if (_window is null || _window.Count == 0)
            return string.Empty;
        string prefix = DecodeWindow(0, _windowReadOffset);
        string all = DecodeWindow(0, _window.Count);
        _window.Clear();
        _windowReadOffset = 0;
        return all.Length > prefix.Length ? all.Substring(prefix.Length) : string.Empty;
    }

    /// <summary>Forgets all state, ready for a new sequence.</summary>
    public void Reset()
    {
        _utf8?.Reset();
        _window?.Clear();
        _windowReadOffset = 0;
    }

    private string DecodeBytes(byte[] bytes, bool flush)
    {
        Decoder decoder = _utf8!;
        int max = bytes.Length + 8; // at most one char per byte plus replacements for held-back bytes
        if (_chars.Length < max)
            _chars = new char[Math.Max(max, _chars.Length * 2)];
        int count = decoder.GetChars(bytes, 0, bytes.Length, _chars, 0, flush);
        return count == 0 ? string.Empty : new string(_chars, 0, count);
    }

    private string AppendGeneric(int tokenId)
    {
        List<int> window = _window!;
        window.Add(tokenId);
        // Decode [0, read) and [0, end): the difference is new text once it no longer ends in a partial character.
        string prefix = DecodeWindow(0, _windowReadOffset);
        string all = DecodeWindow(0, window.Count);
        if (all.Length <= prefix.Length || EndsIncomplete(all) || !all.StartsWith(prefix, StringComparison.Ordinal))
            return string.Empty;
        string delta = all.Substring(prefix.Length);
        // Keep the ids just emitted as left context for the next decode (some tokenizers decode differently at the start).
        window.RemoveRange(0, _windowReadOffset);
        _windowReadOffset = window.Count;
        return delta;
    }

    private string DecodeWindow(int start, int end)
    {
        if (end <= start)
            return string.Empty;
        IEnumerable<int> ids = _window!.Skip(start).Take(end - start);
        return _tokenizer is BpeTokenizer bpe ? bpe.Decode(ids, considerSpecialTokens: !_skipSpecialTokens) : _tokenizer.Decode(ids);
    }

    private static bool EndsIncomplete(string text)
        => text.Length > 0 && (text[^1] == '\uFFFD' || char.IsHighSurrogate(text[^1]));

    private static byte[]?[] GetByteTable(BpeTokenizer tokenizer, bool skipSpecialTokens)
    {
        byte[]?[]?[] tables = s_byteTables.GetValue(tokenizer, _ => new byte[]?[]?[2]);
        int slot = skipSpecialTokens ? 1 : 0;
        lock (tables)
            return tables[slot] ??= BuildByteTable(tokenizer, skipSpecialTokens);
    }

    private static byte[]?[] BuildByteTable(BpeTokenizer tokenizer, bool skipSpecialTokens)
    {
        int[] unicodeToByte = ByteLevelAlphabet.CreateUnicodeToByte();
        IReadOnlyDictionary<string, int> vocabulary = tokenizer.Vocabulary;
        IReadOnlyDictionary<string, int>? special = tokenizer.SpecialTokens;
        int size = 0;
        foreach (int id in vocabulary.Values)
            size = Math.Max(size, id + 1);
        if (special is not null)
            foreach (int id in special.Values)
                size = Math.Max(size, id + 1);
        var table = new byte[]?[size];
        foreach ((string token, int id) in vocabulary)
            table[id] = ByteLevelAlphabet.TryDecode(token, unicodeToByte) ?? Encoding.UTF8.GetBytes(token);
        for (int id = 0; id < size; id++)
            table[id] ??= []; // ids missing from the vocabulary decode to nothing
        if (special is not null)
            foreach ((string token, int id) in special)
                table[id] = skipSpecialTokens ? null : Encoding.UTF8.GetBytes(token);
        return table;
    }
}

/// <summary>GPT-2's byte-level alphabet (<c>bytes_to_unicode</c>): each byte is shown as a printable character.</summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Table from character (0..323) to byte, -1 for characters outside the alphabet.</summary>
    public static int[] CreateUnicodeToByte()
    {
        var map = new int[324];
        Array.Fill(map, -1);
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            map[printable ? b : next++] = b;
        }
        return map;
    }

    /// <summary>The bytes a byte-level token stands for, or null when the token has a character outside the alphabet.</summary>
    public static byte[]? TryDecode(string token, int[] unicodeToByte)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            char c = token[i];
            if (c >= unicodeToByte.Length || unicodeToByte[c] < 0)
                return null;
            bytes[i] = (byte)unicodeToByte[c];
        }
        return bytes;
    }
}
