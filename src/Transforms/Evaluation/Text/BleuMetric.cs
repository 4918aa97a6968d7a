using System.Globalization;

namespace Aigc.MLNet.Transforms.Evaluation.Text;

/// <summary>
/// BLEU (Papineni et al., 2002) computed exactly as sacrebleu 2.x does: same tokenizers, closest reference length,
/// clipped counts over multiple references, smoothing, effective order and signature.
/// </summary>
/// <remarks>
/// Differences from sacrebleu, on purpose: mismatched numbers of hypotheses and reference lists throw instead of being
/// silently truncated; references are given per hypothesis (one list per row, variable length allowed) rather than as
/// reference streams. As in sacrebleu, empty references are dropped and a row left without any reference throws.
/// </remarks>
public sealed class BleuMetric
{
    private readonly BleuOptions _options;

    /// <summary>Creates a metric with the given options (sacrebleu defaults when null).</summary>
    /// <param name="options">Tokenizer, smoothing, case and order options.</param>
    public BleuMetric(BleuOptions? options = null)
    {
        _options = options?.Clone() ?? new BleuOptions();
        _options.Validate();
    }

    /// <summary>Corpus BLEU as <c>sacrebleu.corpus_bleu</c> (effective order off unless set).</summary>
    /// <param name="hypotheses">One hypothesis per segment.</param>
    /// <param name="references">For each hypothesis, its references (one or more; empty strings are ignored).</param>
    /// <param name="options">Options (sacrebleu defaults when null).</param>
    public static BleuScore Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references, BleuOptions? options = null) =>
        new BleuMetric(options).CorpusScore(hypotheses, references);

    /// <summary>Sentence BLEU as <c>sacrebleu.sentence_bleu</c> (effective order on unless set).</summary>
    /// <param name="hypothesis">The hypothesis.</param>
    /// <param name="references">Its references.</param>
    /// <param name="options">Options (sacrebleu defaults when null).</param>
    public static BleuScore Sentence(string hypothesis, IReadOnlyList<string> references, BleuOptions? options = null) =>
        new BleuMetric(options).SentenceScore(hypothesis, references);

    /// <summary>Corpus BLEU over all segments.</summary>
    /// <param name="hypotheses">One hypothesis per segment.</param>
    /// <param name="references">For each hypothesis, its references.</param>
    public BleuScore CorpusScore(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references)
    {
        ArgumentNullException.ThrowIfNull(hypotheses);
        ArgumentNullException.ThrowIfNull(references);
        if (hypotheses.Count != references.Count)
            throw new ArgumentException(
                $"BLEU needs one list of references per hypothesis: got {hypotheses.Count} hypotheses and {references.Count} reference lists.",
                nameof(references));
        var stats = new BleuStatistics(_options.MaxNgramOrder);
        var refCounts = new HashSet<int>();
        for (int i = 0; i < hypotheses.Count; i++)
        {
            string hypothesis = hypotheses[i] ?? throw new ArgumentException($"Hypothesis {i} is null.", nameof(hypotheses));
            var refs = references[i] ?? throw new ArgumentException($"The reference list of hypothesis {i} is null.", nameof(references));
            refCounts.Add(AddSegment(stats, hypothesis, refs, i));
        }
        string nrefs = refCounts.Count switch
        {
            0 => "0",
            1 => refCounts.First().ToString(CultureInfo.InvariantCulture),
            _ => "var",
        };
        return Compute(stats, _options.EffectiveOrder ?? false, nrefs);
    }

    /// <summary>BLEU of one hypothesis against its references.</summary>
    /// <param name="hypothesis">The hypothesis.</param>
    /// <param name="references">Its references.</param>
    public BleuScore SentenceScore(string hypothesis, IReadOnlyList<string> references)
    {
        ArgumentNullException.ThrowIfNull(hypothesis);
        ArgumentNullException.ThrowIfNull(references);
        var stats = new BleuStatistics(_options.MaxNgramOrder);
        int nrefs = AddSegment(stats, hypothesis, references, 0);
        return Compute(stats, _options.EffectiveOrder ?? true, nrefs.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The signature sacrebleu prints for these options.</summary>
    /// <param name="referenceCount">Number of references per segment, or "var".</param>
    /// <param name="effectiveOrder">Whether effective order is used.</param>
    public string Signature(string referenceCount, bool effectiveOrder)
    {
        var c = CultureInfo.InvariantCulture;
        string smooth = BleuOptions.SmoothingName(_options.Smoothing);
        double? def = BleuOptions.DefaultSmoothingValue(_options.Smoothing);
        if (def is not null)
            smooth += "[" + (_options.SmoothingValue ?? def.Value).ToString("F2", c) + "]";
        return $"nrefs:{referenceCount}|case:{(_options.Lowercase ? "lc" : "mixed")}|eff:{(effectiveOrder ? "yes" : "no")}" +
               $"|tok:{BleuTokenization.SignatureName(_options.Tokenizer)}|smooth:{smooth}|version:{BleuOptions.CompatibleSacreBleuVersion}";
    }

    /// <summary>Tokens of a segment after the metric's preprocessing (lowercase, right-trim, tokenize).</summary>
    /// <param name="segment">Hypothesis or reference text.</param>
    public string[] Preprocess(string segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (_options.Lowercase)
            segment = segment.ToLowerInvariant();
        return BleuTokenization.Tokenize(segment.TrimEnd(), _options.Tokenizer);
    }

    private int AddSegment(BleuStatistics stats, string hypothesis, IReadOnlyList<string> references, int row)
    {
        var refTokens = new List<string[]>();
        foreach (string? reference in references)
            if (!string.IsNullOrEmpty(reference))
                refTokens.Add(Preprocess(reference));
        if (refTokens.Count == 0)
            throw new ArgumentException($"Segment {row} has no reference: every reference is empty or null.", nameof(references));
        AddTokenizedSegment(stats, Preprocess(hypothesis), refTokens);
        return refTokens.Count;
    }

    /// <summary>Sentence BLEU of already preprocessed tokens (used by self-BLEU, which reuses each text's tokens).</summary>
    internal BleuScore SentenceScoreOfTokens(string[] hypothesis, IReadOnlyList<string[]> references)
    {
        var stats = new BleuStatistics(_options.MaxNgramOrder);
        AddTokenizedSegment(stats, hypothesis, references);
        return Compute(stats, _options.EffectiveOrder ?? true, references.Count.ToString(CultureInfo.InvariantCulture));
    }

    private void AddTokenizedSegment(BleuStatistics stats, string[] hyp, IReadOnlyList<string[]> references)
    {
        int order = _options.MaxNgramOrder;
        var refLengths = new List<int>(references.Count);
        var maxRefCounts = new Dictionary<string, int>[order];
        for (int n = 0; n < order; n++)
            maxRefCounts[n] = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var tokens in references)
        {
            refLengths.Add(tokens.Length);
            var counts = NgramCounter.Count(tokens, order);
            for (int n = 0; n < order; n++)
                foreach (var (gram, count) in counts[n])
                    if (!maxRefCounts[n].TryGetValue(gram, out int m) || m < count)
                        maxRefCounts[n][gram] = count;
        }

        var hypCounts = NgramCounter.Count(hyp, order);
        stats.HypothesisLength += hyp.Length;
        stats.ReferenceLength += ClosestReferenceLength(hyp.Length, refLengths);
        for (int n = 0; n < order; n++)
        {
            foreach (var (gram, count) in hypCounts[n])
            {
                stats.Totals[n] += count;
                if (maxRefCounts[n].TryGetValue(gram, out int m))
                    stats.Correct[n] += Math.Min(count, m);
            }
        }
    }

    // The closest reference length; ties go to the shorter reference.
    private static int ClosestReferenceLength(int hypothesisLength, List<int> referenceLengths)
    {
        int bestDiff = -1, best = -1;
        foreach (int length in referenceLengths)
        {
            int diff = Math.Abs(hypothesisLength - length);
            if (bestDiff == -1 || diff < bestDiff)
            {
                bestDiff = diff;
                best = length;
            }
            else if (diff == bestDiff && length < best)
            {
                best = length;
            }
        }
        return best;
    }

    private BleuScore Compute(BleuStatistics stats, bool effectiveOrder, string nrefs)
    {
        int maxOrder = _options.MaxNgramOrder;
        double smoothValue = _options.SmoothingValue ?? BleuOptions.DefaultSmoothingValue(_options.Smoothing) ?? 0;
        var correct = stats.Correct.Select(x => (double)x).ToArray();
        var total = stats.Totals.Select(x => (double)x).ToArray();
        int sys = stats.HypothesisLength, @ref = stats.ReferenceLength;
        string signature = Signature(nrefs, effectiveOrder);

        double bp = sys < @ref ? (sys > 0 ? Math.Exp(1.0 - (double)@ref / sys) : 0.0) : 1.0;
        var precisions = new double[maxOrder];
        if (correct.All(c => c == 0))
            return new BleuScore(0.0, correct, total, precisions, bp, sys, @ref, signature);

        double smoothMteval = 1.0;
        int effOrder = maxOrder;
        for (int n = 1; n <= maxOrder; n++)
        {
            if (_options.Smoothing == BleuSmoothing.AddK && n > 1)
            {
                correct[n - 1] += smoothValue;
                total[n - 1] += smoothValue;
            }
            if (total[n - 1] == 0)
                break;
            if (effectiveOrder)
                effOrder = n;
            if (correct[n - 1] == 0)
            {
                if (_options.Smoothing == BleuSmoothing.Exponential)
                {
                    smoothMteval *= 2;
                    precisions[n - 1] = 100.0 / (smoothMteval * total[n - 1]);
                }
                else if (_options.Smoothing == BleuSmoothing.Floor)
                {
                    precisions[n - 1] = 100.0 * smoothValue / total[n - 1];
                }
            }
            else
            {
                precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1];
            }
        }
        double logSum = 0;
        for (int n = 0; n < effOrder; n++)
            logSum += precisions[n] == 0 ? -9999999999.0 : Math.Log(precisions[n]);
        double score = bp * Math.Exp(logSum / effOrder);
        return new BleuScore(score, correct, total, precisions, bp, sys, @ref, signature);
    }

    private sealed class BleuStatistics(int order)
    {
        public int HypothesisLength;
        public int ReferenceLength;
        public readonly long[] Correct = new long[order];
        public readonly long[] Totals = new long[order];
    }
}
