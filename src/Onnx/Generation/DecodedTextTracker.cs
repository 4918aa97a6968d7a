using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// Tracks a sequence's text by decoding its generated ids with the tokenizer: trailing U+FFFD (an incomplete UTF-8
/// character) is held back until the next token completes it, stop sequences are searched in the decoded text (so they
/// may span tokens), and streamed deltas never end inside a possible stop sequence or a surrogate pair.
/// </summary>
internal sealed class DecodedTextTracker : ITextTracker
{
    private readonly Tokenizer _tokenizer;
    private readonly string[] _stops;
    private readonly int _longestStop;
    private readonly List<int> _ids = [];
    private string _text = "";
    private string _full = "";
    private int _emitted;
    private bool _stopped;

    public DecodedTextTracker(Tokenizer tokenizer, IReadOnlyList<string>? stopSequences)
    {
        _tokenizer = tokenizer;
        _stops = stopSequences is null ? [] : [.. stopSequences];
        _longestStop = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length);
    }

    public bool Append(int tokenId)
    {
        if (_stopped) return true;
        _ids.Add(tokenId);
        _full = _tokenizer.Decode(_ids) ?? "";
        int stable = _full.Length;
        while (stable > 0 && _full[stable - 1] == '\uFFFD') stable--;
        string text = _full[..stable];
        if (_stops.Length > 0)
        {
            // Only the part that can contain a new match: the previous stable text's tail plus what is new.
            int from = Math.Max(0, Math.Min(_text.Length, text.Length) - _longestStop);
            int best = -1;
            foreach (var stop in _stops)
            {
                int at = text.IndexOf(stop, from, StringComparison.Ordinal);
                if (at >= 0 && (best < 0 || at < best)) best = at;
            }
            if (best >= 0)
            {
                _text = text[..best];
                _stopped = true;
                return true;
            }
        }
        _text = text;
        return false;
    }

    public string TakeDelta()
    {
        int end = _text.Length;
        if (!_stopped)
        {
            // Hold back a tail that could still grow into a stop sequence.
            for (int keep = Math.Min(_longestStop - 1, end - _emitted); keep > 0; keep--)
            {
                if (IsStopPrefix(_text.AsSpan(end - keep))) { end -= keep; break; }
            }
            if (end > _emitted && char.IsHighSurrogate(_text[end - 1])) end--;
        }
        if (end <= _emitted) return "";
        string delta = _text[_emitted..end];
        _emitted = end;
        return delta;
    }

    private bool IsStopPrefix(ReadOnlySpan<char> tail)
    {
        foreach (var stop in _stops)
            if (stop.AsSpan().StartsWith(tail, StringComparison.Ordinal)) return true;
        return false;
    }

    public string TakeRest()
    {
        string all = Text;
        if (_emitted >= all.Length) return "";
        string rest = all[_emitted..];
        _emitted = all.Length;
        return rest;
    }

    public string Text => _stopped ? _text : _full;
}
