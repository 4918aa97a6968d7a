namespace Aigc.MLNet.Onnx.Generation;

/// <summary>The finished hypotheses of one prompt's beam search, kept like Hugging Face's <c>BeamHypotheses</c>.</summary>
internal sealed class BeamHypotheses
{
    private readonly int _numBeams;
    private readonly double _lengthPenalty;
    private readonly BeamEarlyStopping _earlyStopping;
    private readonly int _maxNewTokens;
    private readonly List<Hypothesis> _beams = [];
    private double _worstScore = 1e9;

    public BeamHypotheses(int numBeams, double lengthPenalty, BeamEarlyStopping earlyStopping, int maxNewTokens)
    {
        _numBeams = numBeams;
        _lengthPenalty = lengthPenalty;
        _earlyStopping = earlyStopping;
        _maxNewTokens = maxNewTokens;
    }

    internal readonly record struct Hypothesis(double Score, int[] Tokens, float[] LogProbs, FinishReason Reason);

    public int Count => _beams.Count;

    /// <summary>Adds a hypothesis of <paramref name="tokens"/> (generated ids) with summed log-probability <paramref name="sumLogProbs"/>.</summary>
    public void Add(int[] tokens, float[] logProbs, double sumLogProbs, FinishReason reason)
    {
        double score = sumLogProbs / Math.Pow(tokens.Length, _lengthPenalty);
        if (_beams.Count < _numBeams || score > _worstScore)
        {
            _beams.Add(new Hypothesis(score, tokens, logProbs, reason));
            if (_beams.Count > _numBeams)
            {
                int worst = 0;
                for (int i = 1; i < _beams.Count; i++) if (_beams[i].Score < _beams[worst].Score) worst = i;
                _beams.RemoveAt(worst);
                _worstScore = double.MaxValue;
                foreach (var b in _beams) _worstScore = Math.Min(_worstScore, b.Score);
            }
            else
            {
                _worstScore = Math.Min(score, _worstScore);
            }
        }
    }

    /// <summary>HF <c>is_done</c>: whether no running beam can still beat the worst kept hypothesis.</summary>
    /// <param name="bestSumLogProbs">The best running (unnormalised) score this step.</param>
    /// <param name="generatedLength">Generated tokens including the one chosen this step.</param>
    public bool IsDone(double bestSumLogProbs, int generatedLength)
    {
        if (_beams.Count < _numBeams) return false;
        switch (_earlyStopping)
        {
            case BeamEarlyStopping.WhenBeamsFinished:
                return true;
            case BeamEarlyStopping.Heuristic:
                return _worstScore >= bestSumLogProbs / Math.Pow(generatedLength, _lengthPenalty);
            default:
                int length = _lengthPenalty > 0 ? _maxNewTokens : generatedLength;
                return _worstScore >= bestSumLogProbs / Math.Pow(length, _lengthPenalty);
        }
    }

    /// <summary>The kept hypotheses, best first (stable for equal scores: earlier added first).</summary>
    public List<Hypothesis> Best()
    {
        var sorted = new List<Hypothesis>(_beams);
        // HF pops the max of a list sorted ascending by score; among equals the later-added one wins.
        var order = Enumerable.Range(0, sorted.Count).OrderByDescending(i => sorted[i].Score).ThenByDescending(i => i).Select(i => sorted[i]).ToList();
        return order;
    }
}
