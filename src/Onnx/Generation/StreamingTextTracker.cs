using System.Text;
using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// One sequence's text: ids go through a <see cref="StreamingDetokenizer"/> (no split UTF-8 characters, special tokens
/// skipped) and then a <see cref="StopSequenceMatcher"/> (stop strings matched on text, spanning tokens, cut before the match).
/// O(token length + longest stop string) per token.
/// </summary>
internal sealed class StreamingTextTracker : ITextTracker
{
    private readonly StreamingDetokenizer _detokenizer;
    private readonly StopSequenceMatcher _matcher;
    private readonly StringBuilder _text = new();
    private int _delivered;
    private bool _flushed;

    public StreamingTextTracker(Tokenizer tokenizer, IReadOnlyList<string>? stopSequences)
    {
        _detokenizer = new StreamingDetokenizer(tokenizer, skipSpecialTokens: true);
        _matcher = new StopSequenceMatcher(stopSequences ?? []);
    }

    public bool Append(int tokenId)
    {
        if (_matcher.IsStopped) return true;
        string piece = _detokenizer.Append(tokenId);
        if (piece.Length > 0) _text.Append(_matcher.Append(piece));
        return _matcher.IsStopped;
    }

    public string TakeDelta()
    {
        if (_delivered >= _text.Length) return "";
        string delta = _text.ToString(_delivered, _text.Length - _delivered);
        _delivered = _text.Length;
        return delta;
    }

    public string TakeRest()
    {
        Finish();
        return TakeDelta();
    }

    public string Text
    {
        get
        {
            Finish();
            return _text.ToString();
        }
    }

    /// <summary>Releases held-back bytes and text once the sequence is over.</summary>
    private void Finish()
    {
        if (_flushed) return;
        _flushed = true;
        if (_matcher.IsStopped) return;
        string tail = _detokenizer.Flush();
        if (tail.Length > 0) _text.Append(_matcher.Append(tail));
        if (!_matcher.IsStopped) _text.Append(_matcher.Flush());
    }
}
