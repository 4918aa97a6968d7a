using Aigc.MLNet.Onnx.Runtime;

namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// Beam search with Hugging Face <c>BeamSearchScorer</c> semantics: per step, log-softmax then processors, the best
/// max(2, 1 + #eos) × NumBeams continuations, end-of-sequence candidates ranked below NumBeams become finished hypotheses
/// scored sum(log p) / length^LengthPenalty, and early stopping as True / False / "never".
/// With DoSample (HF beam-sample) the warpers (temperature, top-k, top-p) follow the processors, and the candidates are
/// drawn without replacement from the softmax of the running scores (Gumbel top-k), then ranked by score.
/// </summary>
/// <remarks>
/// Cache rows follow their beams through <see cref="DecoderSession.ReorderRows"/>: one native copy of the cache per step
/// (like HF's <c>_reorder_cache</c>), skipped when no beam changed parent. Stop sequences are applied to the finished
/// hypotheses' text (the text is cut and the finish reason becomes StopSequence), not while searching.
/// </remarks>
internal sealed class BeamSearch : IDisposable
{
    private readonly DecodingRequest _request;
    private readonly DecoderSession _session;
    private readonly int _batch;
    private readonly int _beams;
    private readonly int _rows;
    private int[][] _sequences;
    private int[][] _spareSequences;
    private float[][] _logProbs;
    private float[][] _spareLogProbs;
    private readonly double[] _beamScores;
    private readonly double[] _nextScores;
    private readonly int[] _nextTokens;
    private readonly int[] _sourceRows;
    private readonly BeamHypotheses[] _hypotheses;
    private readonly bool[] _done;
    private readonly int[] _windowStart;
    private readonly int[] _promptLength;
    private readonly int[] _maxNew;
    private int _generated;

    private readonly double[] _candScore;
    private readonly int[] _candToken;
    private readonly int[] _candBeam;
    private readonly int[] _candIndex;
    private readonly float[] _candValue;
    private float[] _flat = [];
    private float[] _keys = [];
    private readonly Random?[] _random;

    public BeamSearch(DecodingRequest request, CancellationToken cancellation)
    {
        _request = request;
        _batch = request.Prompts.Length;
        _beams = request.Options.NumBeams;
        _rows = _batch * _beams;
        _promptLength = new int[_rows];
        _maxNew = request.MaxNewTokens;
        _sequences = new int[_rows][];
        _spareSequences = new int[_rows][];
        _logProbs = new float[_rows][];
        _spareLogProbs = new float[_rows][];
        _beamScores = new double[_rows];
        _nextScores = new double[_rows];
        _nextTokens = new int[_rows];
        _sourceRows = new int[_rows];
        _hypotheses = new BeamHypotheses[_batch];
        _windowStart = new int[_batch];
        _done = new bool[_batch];
        int candidates = Math.Max(2, 1 + request.EosTokenIds.Length) * _beams;
        _candScore = new double[candidates];
        _candToken = new int[candidates];
        _candBeam = new int[candidates];
        _candIndex = new int[candidates];
        _candValue = new float[candidates];

        _random = new Random?[_batch];
        int baseSeed = request.Options.Seed ?? Random.Shared.Next();
        if (request.Options.DoSample)
            for (int b = 0; b < _batch; b++) _random[b] = new Random(DecodingRequest.RowSeed(baseSeed, 0)); // per prompt: batch-independent
        int longest = 0;
        var rowPrompts = new IReadOnlyList<int>[_rows];
        for (int b = 0; b < _batch; b++)
        {
            _hypotheses[b] = new BeamHypotheses(_beams, request.Options.LengthPenalty, request.EarlyStopping, _maxNew[b]);
            var prompt = request.Prompts[b];
            longest = Math.Max(longest, prompt.Length + _maxNew[b]);
            for (int k = 0; k < _beams; k++)
            {
                int r = b * _beams + k;
                rowPrompts[r] = request.Window(prompt, prompt.Length, ref _windowStart[b]);
                _promptLength[r] = prompt.Length;
                _sequences[r] = new int[prompt.Length + _maxNew[b]];
                _spareSequences[r] = new int[prompt.Length + _maxNew[b]];
                prompt.CopyTo(_sequences[r], 0);
                _logProbs[r] = new float[Math.Max(1, _maxNew[b])];
                _spareLogProbs[r] = new float[Math.Max(1, _maxNew[b])];
                // Only the first beam is live at the start, so the first step does not pick the same token NumBeams times.
                _beamScores[r] = k == 0 ? 0 : -1e9;
            }
            if (_maxNew[b] <= 0) _done[b] = true;
        }
        if (request.SlideWindow > 0) longest = Math.Min(longest, request.SlideWindow);
        _session = new DecoderSession(request.Model, _rows, longest, cancellation, hostCache: true);
        try
        {
            _session.Prefill(rowPrompts, request.PadTokenId);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <summary>Runs the search to the end and returns NumReturnSequences results per prompt, best first.</summary>
    public GeneratedSequence[] Run()
    {
        while (true)
        {
            for (int b = 0; b < _batch; b++)
            {
                if (_done[b])
                {
                    for (int k = 0; k < _beams; k++)
                    {
                        int r = b * _beams + k;
                        _sourceRows[r] = r;
                        _nextTokens[r] = _request.PadTokenId;
                        _nextScores[r] = 0;
                    }
                    continue;
                }
                Step(b);
            }
            Advance();
            _generated++;
            for (int b = 0; b < _batch; b++)
                if (!_done[b] && _generated >= _maxNew[b])
                {
                    Finalize(b);
                    _done[b] = true;
                }
            if (Array.TrueForAll(_done, d => d)) break;
            if (_request.MustSlide(_session.Length))
            {
                // The sequences are already in their new beam order: re-reading their windows also reorders the cache.
                var windows = new IReadOnlyList<int>[_rows];
                // All beams of a prompt have the same length, so they share one window start.
                for (int r = 0; r < _rows; r++)
                {
                    int b = r / _beams, start = _windowStart[b];
                    windows[r] = _request.Window(_sequences[r], _promptLength[r] + _generated, ref start);
                    if (r % _beams == _beams - 1) _windowStart[b] = start;
                }
                _session.Restart(windows, _request.PadTokenId);
            }
            else
            {
                _session.ReorderRows(_sourceRows);
                _session.Append(_nextTokens);
            }
        }
        return Results();
    }

    private void Step(int b)
    {
        var pipeline = _request.Pipeline;
        int vocab = _session.VocabSize;
        if (_flat.Length != _beams * vocab) _flat = new float[_beams * vocab];
        for (int k = 0; k < _beams; k++)
        {
            int r = b * _beams + k;
            var row = _flat.AsSpan(k * vocab, vocab);
            _session.Logits(r).CopyTo(row);
            LogitsPipeline.LogSoftmax(row);
            var sequence = _sequences[r].AsSpan(0, _promptLength[r] + _generated);
            _request.ApplyProcessors(sequence, _promptLength[r], row);
            if (_random[b] is not null) pipeline.ApplyWarpers(sequence, _promptLength[r], row);
            float beamScore = (float)_beamScores[r];
            for (int v = 0; v < row.Length; v++) row[v] += beamScore;
        }
        int filled;
        if (_random[b] is { } rng)
        {
            // Sampling without replacement from softmax(scores): the top-n of score + Gumbel noise (HF: multinomial, then sort).
            if (_keys.Length != _flat.Length) _keys = new float[_flat.Length];
            for (int i = 0; i < _flat.Length; i++)
                _keys[i] = _flat[i] - (float)Math.Log(-Math.Log(1.0 - rng.NextDouble()));
            filled = LogitsPipeline.SelectTopK(_keys, _candIndex, _candValue);
            for (int i = 0; i < filled; i++) _candValue[i] = _flat[_candIndex[i]];
            SortCandidatesByScore(filled);
        }
        else
        {
            // torch.topk over the flattened [beams × vocab] scores; banned (-inf) continuations are never candidates.
            filled = LogitsPipeline.SelectTopK(_flat, _candIndex, _candValue);
        }
        for (int i = 0; i < filled; i++)
        {
            _candBeam[i] = _candIndex[i] / vocab;
            _candToken[i] = _candIndex[i] % vocab;
            _candScore[i] = _candValue[i];
        }

        int beamIndex = 0;
        for (int rank = 0; rank < filled && beamIndex < _beams; rank++)
        {
            int source = b * _beams + _candBeam[rank];
            int token = _candToken[rank];
            double score = _candScore[rank];
            if (_request.IsEos(token))
            {
                if (rank >= _beams) continue;
                var tokens = new int[_generated + 1];
                _sequences[source].AsSpan(_promptLength[source], _generated).CopyTo(tokens);
                tokens[^1] = token;
                var logProbs = new float[_generated + 1];
                _logProbs[source].AsSpan(0, _generated).CopyTo(logProbs);
                logProbs[^1] = (float)(score - _beamScores[source]);
                _hypotheses[b].Add(tokens, logProbs, score, FinishReason.EndOfSequence);
            }
            else
            {
                int r = b * _beams + beamIndex++;
                _sourceRows[r] = source;
                _nextTokens[r] = token;
                _nextScores[r] = score;
            }
        }
        if (beamIndex < _beams)
            throw new InvalidOperationException($"Beam search found only {beamIndex} continuations that are not end-of-sequence for {_beams} beams; use fewer beams or a larger vocabulary.");
        _done[b] = _hypotheses[b].IsDone(_candScore[0], _generated + 1);
    }

    private void SortCandidatesByScore(int count)
    {
        for (int i = 1; i < count; i++)
        {
            float value = _candValue[i];
            int index = _candIndex[i];
            int j = i - 1;
            while (j >= 0 && _candValue[j] < value)
            {
                _candValue[j + 1] = _candValue[j];
                _candIndex[j + 1] = _candIndex[j];
                j--;
            }
            _candValue[j + 1] = value;
            _candIndex[j + 1] = index;
        }
    }

    /// <summary>Moves every beam to its parent's tokens plus its new token (double-buffered, no allocation).</summary>
    private void Advance()
    {
        for (int r = 0; r < _rows; r++)
        {
            int source = _sourceRows[r];
            int length = _promptLength[r] + _generated;
            Array.Copy(_sequences[source], _spareSequences[r], length);
            if (length < _spareSequences[r].Length) _spareSequences[r][length] = _nextTokens[r];
            Array.Copy(_logProbs[source], _spareLogProbs[r], _generated);
            if (_generated < _spareLogProbs[r].Length) _spareLogProbs[r][_generated] = (float)(_nextScores[r] - _beamScores[source]);
        }
        (_sequences, _spareSequences) = (_spareSequences, _sequences);
        (_logProbs, _spareLogProbs) = (_spareLogProbs, _logProbs);
        Array.Copy(_nextScores, _beamScores, _rows);
    }

    private void Finalize(int b)
    {
        for (int k = 0; k < _beams; k++)
        {
            int r = b * _beams + k;
            var tokens = _sequences[r].AsSpan(_promptLength[r], _generated).ToArray();
            var logProbs = _logProbs[r].AsSpan(0, _generated).ToArray();
            _hypotheses[b].Add(tokens, logProbs, _beamScores[r], FinishReason.Length);
        }
    }

    private GeneratedSequence[] Results()
    {
        int n = _request.Options.NumReturnSequences;
        var results = new GeneratedSequence[_batch * n];
        bool logProbs = _request.Options.OutputScores;
        for (int b = 0; b < _batch; b++)
        {
            var best = _hypotheses[b].Best();
            if (best.Count == 0) best.Add(new BeamHypotheses.Hypothesis(0, [], [], FinishReason.Length)); // no room to generate
            for (int j = 0; j < n; j++)
            {
                var h = best[Math.Min(j, best.Count - 1)];
                int[] tokens = h.Tokens;
                float[] lp = h.LogProbs;
                var reason = h.Reason;
                string? text = null;
                if (_request.TextTrackers is { } factory)
                {
                    var tracker = factory();
                    for (int i = 0; i < tokens.Length; i++)
                    {
                        if (_request.IsEos(tokens[i])) break;
                        if (tracker.Append(tokens[i]))
                        {
                            tokens = tokens[..(i + 1)];
                            lp = lp[..(i + 1)];
                            reason = FinishReason.StopSequence;
                            break;
                        }
                    }
                    text = tracker.Text;
                }
                results[b * n + j] = new GeneratedSequence(b, tokens, text, reason, h.Score, logProbs ? lp : null);
            }
        }
        return results;
    }

    /// <summary>Releases the key/value cache.</summary>
    public void Dispose() => _session.Dispose();
}
