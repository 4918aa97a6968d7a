namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// Finds stop sequences (HF <c>stop_strings</c>) in generated text that arrives in pieces, matching on text rather than
/// token ids, so a stop string produced by several tokens (e.g. "\n\n" as 198, 198 instead of 628) is found at the right
/// character. While streaming it releases only text that cannot be the start of a stop string. When stop strings overlap,
/// the one completed first (at the smallest end position) wins, as when checking after every character.
/// </summary>
/// <remarks>
/// Feed the text deltas of one sequence (e.g. from <see cref="Tokenization.StreamingDetokenizer"/>) to <see cref="Append"/>
/// and emit what it returns; after a match <see cref="IsStopped"/> is true and <see cref="StopIndex"/> is where the stop
/// string starts in the whole appended text, which is cut there (the stop string itself is not emitted). At the end of a
/// sequence that did not stop, <see cref="Flush"/> returns the held-back tail. Each call costs O(delta + longest stop
/// string). One instance per sequence; not thread-safe.
/// </remarks>
public sealed class StopSequenceMatcher
{
    private readonly string[] _stops;
    private readonly int _maxStopLength;
    private string _pending = string.Empty; // appended but not yet released: a suffix that may begin a stop string

    /// <summary>Creates a matcher.</summary>
    /// <param name="stopSequences">The stop strings, none empty; an empty list never stops and holds nothing back.</param>
    public StopSequenceMatcher(IEnumerable<string> stopSequences)
    {
        ArgumentNullException.ThrowIfNull(stopSequences);
        _stops = stopSequences.ToArray();
        for (int i = 0; i < _stops.Length; i++)
            if (string.IsNullOrEmpty(_stops[i]))
                throw new ArgumentException($"Stop sequence {i} is null or empty; every stop sequence needs at least one character.", nameof(stopSequences));
        _maxStopLength = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length);
    }

    /// <summary>The stop strings.</summary>
    public IReadOnlyList<string> StopSequences => _stops;

    /// <summary>True once a stop string has been found; later appends are ignored.</summary>
    public bool IsStopped { get; private set; }

    /// <summary>Character index, in all text appended so far, where the matched stop string starts; -1 before a match.</summary>
    public int StopIndex { get; private set; } = -1;

    /// <summary>The stop string that matched, or null.</summary>
    public string? MatchedStopSequence { get; private set; }

    /// <summary>Number of characters appended (up to the end of the match once stopped).</summary>
    public int TextLength { get; private set; }

    /// <summary>Number of characters released by <see cref="Append"/> and <see cref="Flush"/>.</summary>
    public int EmittedLength { get; private set; }

    /// <summary>
    /// Appends generated text and returns the part now safe to emit: everything before a stop string once one is found,
    /// otherwise everything except a suffix that could still grow into a stop string.
    /// </summary>
    /// <param name="text">The next piece of generated text.</param>
    public string Append(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IsStopped || text.Length == 0)
            return string.Empty;
        if (_stops.Length == 0)
        {
            TextLength += text.Length;
            EmittedLength += text.Length;
            return text;
        }

        // Released text never contains the start of a possible match (it was held back), so searching the pending tail plus
        // the new text finds every stop string, including ones spanning several appends.
        string buffer = _pending.Length == 0 ? text : _pending + text;
        int bufferStart = TextLength - _pending.Length;
        // The stop string completed first wins (smallest end; then the earliest start), so the result does not depend on
        // how the text was cut into pieces.
        int best = -1, bestEnd = int.MaxValue;
        string? matched = null;
        foreach (string stop in _stops)
        {
            int at = buffer.IndexOf(stop, StringComparison.Ordinal);
            if (at < 0)
                continue;
            int end = at + stop.Length;
            if (end < bestEnd || (end == bestEnd && at < best))
            {
                best = at;
                bestEnd = end;
                matched = stop;
            }
        }
        if (best >= 0)
        {
            IsStopped = true;
            MatchedStopSequence = matched;
            StopIndex = bufferStart + best;
            TextLength = StopIndex + matched!.Length;
            _pending = string.Empty;
            EmittedLength = StopIndex;
            return buffer.Substring(0, best);
        }

        TextLength += text.Length;
        int hold = LongestSuffixStartingAStop(buffer);
        _pending = hold == 0 ? string.Empty : buffer.Substring(buffer.Length - hold);
        int release = buffer.Length - hold;
        EmittedLength += release;
        return release == buffer.Length ? buffer : buffer.Substring(0, release);
    }

    /// <summary>Returns the held-back text when the sequence ends without a stop string (empty after a stop).</summary>
    public string Flush()
    {
        string rest = _pending;
        _pending = string.Empty;
        EmittedLength += rest.Length;
        return rest;
    }

    /// <summary>Forgets all text and any match, ready for a new sequence.</summary>
    public void Reset()
    {
        _pending = string.Empty;
        IsStopped = false;
        StopIndex = -1;
        MatchedStopSequence = null;
        TextLength = 0;
        EmittedLength = 0;
    }

    /// <summary>
    /// Index where the first stop string to complete in <paramref name="text"/> starts (the earliest start when several end
    /// at the same character), or -1; the same answer <see cref="Append"/> gives however the text is split.
    /// </summary>
    /// <param name="text">The full text.</param>
    /// <param name="stopSequences">The stop strings.</param>
    /// <param name="matched">The stop string found, or null.</param>
    public static int IndexOfAny(string text, IReadOnlyList<string> stopSequences, out string? matched)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(stopSequences);
        var matcher = new StopSequenceMatcher(stopSequences);
        matcher.Append(text);
        matched = matcher.MatchedStopSequence;
        return matcher.StopIndex;
    }

    private int LongestSuffixStartingAStop(string buffer)
    {
        for (int length = Math.Min(buffer.Length, _maxStopLength - 1); length > 0; length--)
        {
            ReadOnlySpan<char> suffix = buffer.AsSpan(buffer.Length - length);
            foreach (string stop in _stops)
                if (stop.Length > length && stop.AsSpan(0, length).SequenceEqual(suffix))
                    return length;
        }
        return 0;
    }
}
