using Aigc.MLNet.Onnx.Runtime;

namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// Greedy search and multinomial sampling over a left-padded batch, one step per <see cref="MoveNext"/>.
/// Rows finish independently (end-of-sequence, length, stop sequence) and are then fed the pad id.
/// </summary>
internal sealed class SamplingSearch : IDisposable
{
    private readonly DecodingRequest _request;
    private readonly DecoderSession _session;
    private readonly int _rows;
    private readonly int _returnSequences;
    private readonly int[][] _sequences;
    private readonly int[] _promptLength;
    private readonly int[] _generated;
    private readonly int[] _maxNew;
    private readonly FinishReason?[] _finished;
    private readonly Random?[] _random;
    private readonly ITextTracker?[] _text;
    private readonly float[]?[] _logProbs;
    private readonly double[] _sumLogProbs;
    private readonly int[] _next;
    private readonly int[] _windowStart;
    private float[] _scores = [];
    private readonly bool _wantLogProbs;
    private bool _started;
    private int _active;

    public SamplingSearch(DecodingRequest request, CancellationToken cancellation)
    {
        _request = request;
        var options = request.Options;
        _returnSequences = options.NumReturnSequences;
        _rows = request.Prompts.Length * _returnSequences;
        _sequences = new int[_rows][];
        _promptLength = new int[_rows];
        _generated = new int[_rows];
        _maxNew = new int[_rows];
        _finished = new FinishReason?[_rows];
        _random = new Random?[_rows];
        _text = new ITextTracker?[_rows];
        _logProbs = new float[]?[_rows];
        _sumLogProbs = new double[_rows];
        _next = new int[_rows];
        _windowStart = new int[_rows];
        _wantLogProbs = options.OutputScores;
        int longest = 0;
        int baseSeed = options.Seed ?? Random.Shared.Next();
        var rowPrompts = new IReadOnlyList<int>[_rows];
        for (int r = 0; r < _rows; r++)
        {
            int p = r / _returnSequences;
            var prompt = request.Prompts[p];
            _promptLength[r] = prompt.Length;
            _maxNew[r] = request.MaxNewTokens[p];
            _sequences[r] = new int[prompt.Length + _maxNew[r]];
            prompt.CopyTo(_sequences[r], 0);
            rowPrompts[r] = request.Window(prompt, prompt.Length, ref _windowStart[r]);
            if (options.DoSample) _random[r] = new Random(DecodingRequest.RowSeed(baseSeed, r % _returnSequences));
            _text[r] = request.TextTrackers?.Invoke();
            if (_wantLogProbs) _logProbs[r] = new float[_maxNew[r]];
            longest = Math.Max(longest, prompt.Length + _maxNew[r]);
        }
        _active = _rows;
        if (request.SlideWindow > 0) longest = Math.Min(longest, request.SlideWindow);
        _session = new DecoderSession(request.Model, _rows, longest, cancellation);
        try
        {
            _session.Prefill(rowPrompts, request.PadTokenId);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
        for (int r = 0; r < _rows; r++)
            if (_maxNew[r] <= 0) Finish(r, FinishReason.Length);
    }

    /// <summary>Rows in the batch (prompts × NumReturnSequences).</summary>
    public int RowCount => _rows;

    /// <summary>Chooses one token for every unfinished row and, unless all rows are now finished, runs the model one step.</summary>
    /// <returns>False once every row has finished.</returns>
    public bool MoveNext()
    {
        if (_active == 0) return false;
        if (_started)
        {
            if (_request.MustSlide(_session.Length)) Slide();
            else _session.Append(_next);
        }
        _started = true;

        for (int r = 0; r < _rows; r++)
        {
            if (_finished[r] is not null)
            {
                _next[r] = _request.PadTokenId;
                continue;
            }
            var logits = _session.Logits(r);
            if (_scores.Length != logits.Length) _scores = new float[logits.Length];
            logits.CopyTo(_scores);
            int length = _promptLength[r] + _generated[r];
            int token = _request.NextToken(_sequences[r].AsSpan(0, length), _promptLength[r], _scores, _random[r]);
            if (_wantLogProbs)
            {
                LogitsPipeline.LogSoftmax(_scores);
                _logProbs[r]![_generated[r]] = _scores[token];
                _sumLogProbs[r] += _scores[token];
            }
            _sequences[r][length] = token;
            _generated[r]++;
            _next[r] = token;
            if (_request.IsEos(token)) Finish(r, FinishReason.EndOfSequence);
            else if (_text[r]?.Append(token) == true) Finish(r, FinishReason.StopSequence);
            else if (_generated[r] >= _maxNew[r]) Finish(r, FinishReason.Length);
        }
        return _active > 0;
    }

    /// <summary>Re-reads every row's window (the newest token included) from position 0: the cache is full.</summary>
    private void Slide()
    {
        var windows = new IReadOnlyList<int>[_rows];
        for (int r = 0; r < _rows; r++)
            windows[r] = _request.Window(_sequences[r], _promptLength[r] + _generated[r], ref _windowStart[r]);
        _session.Restart(windows, _request.PadTokenId);
        Slides++;
    }

    /// <summary>How many times the context window slid (each one prefill of the cropped windows).</summary>
    public int Slides { get; private set; }

    private void Finish(int row, FinishReason reason)
    {
        _finished[row] = reason;
        _active--;
    }

    /// <summary>Tokens generated so far for <paramref name="row"/>.</summary>
    public int GeneratedCount(int row) => _generated[row];

    /// <summary>Whether <paramref name="row"/> has finished.</summary>
    public bool IsFinished(int row) => _finished[row] is not null;

    /// <summary>Why <paramref name="row"/> finished, or null while it runs.</summary>
    public FinishReason? FinishReasonOf(int row) => _finished[row];

    /// <summary>Text of <paramref name="row"/> that became final since the last call (empty without a tokenizer).</summary>
    public string TakeDelta(int row) => _text[row]?.TakeDelta() ?? "";

    /// <summary>The rest of <paramref name="row"/>'s text once it has finished.</summary>
    public string TakeRest(int row) => _text[row]?.TakeRest() ?? "";

    /// <summary>The results, grouped by prompt in NumReturnSequences order.</summary>
    public GeneratedSequence[] Results()
    {
        var results = new GeneratedSequence[_rows];
        for (int r = 0; r < _rows; r++)
        {
            int n = _generated[r];
            var tokens = _sequences[r].AsSpan(_promptLength[r], n).ToArray();
            float[]? logProbs = _wantLogProbs ? _logProbs[r].AsSpan(0, n).ToArray() : null;
            results[r] = new GeneratedSequence(r / _returnSequences, tokens, _text[r]?.Text, _finished[r] ?? FinishReason.Length,
                _wantLogProbs ? _sumLogProbs[r] : null, logProbs);
        }
        return results;
    }

    /// <summary>Releases the key/value cache.</summary>
    public void Dispose() => _session.Dispose();
}
