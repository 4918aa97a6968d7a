using System.Globalization;
using System.Text;

namespace Aigc.MLNet.Transforms.Evaluation.Text;

/// <summary>Options of <see cref="ChrFMetric"/>, named after sacrebleu's <c>CHRF(...)</c> arguments (word order 0 only).</summary>
public sealed class ChrFOptions
{
    /// <summary>Highest character n-gram order (default 6).</summary>
    public int CharOrder { get; set; } = 6;

    /// <summary>Recall weight β of the F-score (default 2).</summary>
    public double Beta { get; set; } = 2;

    /// <summary>Lowercase before counting (signature <c>case:lc</c>).</summary>
    public bool Lowercase { get; set; }

    /// <summary>Keep whitespace inside character n-grams (signature <c>space:yes</c>).</summary>
    public bool Whitespace { get; set; }

    /// <summary>Use chrF++.py's ε smoothing instead of chrF.cpp's effective order (signature <c>eff:no</c>).</summary>
    public bool EpsSmoothing { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (CharOrder < 1)
            throw new ArgumentException($"ChrFOptions.CharOrder must be >= 1, got {CharOrder}.", nameof(CharOrder));
        if (!double.IsFinite(Beta) || Beta <= 0)
            throw new ArgumentException($"ChrFOptions.Beta must be a finite number > 0, got {Beta}.", nameof(Beta));
    }
}

/// <summary>A chrF score on sacrebleu's 0..100 scale with its signature.</summary>
/// <param name="Score">chrF on 0..100.</param>
/// <param name="Beta">The β used.</param>
/// <param name="Signature">sacrebleu's signature, e.g. <c>nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.5.1</c>.</param>
public sealed record ChrFScore(double Score, double Beta, string Signature)
{
    /// <summary>sacrebleu's score line, e.g. <c>chrF2 = 54.32</c>.</summary>
    public override string ToString() =>
        $"chrF{Beta.ToString(CultureInfo.InvariantCulture)} = {Score.ToString("F2", CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Character n-gram F-score (Popović, 2015) as sacrebleu 2.x's chrF: statistics summed over the corpus, effective
/// order averaging of precision and recall, and for several references the one with the best sentence F-score.
/// </summary>
public sealed class ChrFMetric
{
    private readonly ChrFOptions _options;

    /// <summary>Creates a metric (sacrebleu defaults when <paramref name="options"/> is null).</summary>
    /// <param name="options">Orders, β, case and whitespace handling.</param>
    public ChrFMetric(ChrFOptions? options = null)
    {
        _options = options ?? new ChrFOptions();
        _options.Validate();
    }

    /// <summary>Corpus chrF.</summary>
    /// <param name="hypotheses">One hypothesis per segment.</param>
    /// <param name="references">For each hypothesis, its references (empty strings are ignored).</param>
    public ChrFScore CorpusScore(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references)
    {
        ArgumentNullException.ThrowIfNull(hypotheses);
        ArgumentNullException.ThrowIfNull(references);
        if (hypotheses.Count != references.Count)
            throw new ArgumentException(
                $"chrF needs one list of references per hypothesis: got {hypotheses.Count} hypotheses and {references.Count} reference lists.",
                nameof(references));
        var total = new long[3 * _options.CharOrder];
        var refCounts = new HashSet<int>();
        for (int i = 0; i < hypotheses.Count; i++)
        {
            var stats = SegmentStatistics(hypotheses[i] ?? throw new ArgumentException($"Hypothesis {i} is null.", nameof(hypotheses)),
                references[i] ?? throw new ArgumentException($"The reference list of hypothesis {i} is null.", nameof(references)), i, out int nrefs);
            refCounts.Add(nrefs);
            for (int k = 0; k < total.Length; k++)
                total[k] += stats[k];
        }
        string n = refCounts.Count == 1 ? refCounts.First().ToString(CultureInfo.InvariantCulture) : refCounts.Count == 0 ? "0" : "var";
        return new ChrFScore(FScore(total), _options.Beta, Signature(n));
    }

    /// <summary>Sentence chrF.</summary>
    /// <param name="hypothesis">The hypothesis.</param>
    /// <param name="references">Its references.</param>
    public ChrFScore SentenceScore(string hypothesis, IReadOnlyList<string> references)
    {
        ArgumentNullException.ThrowIfNull(hypothesis);
        ArgumentNullException.ThrowIfNull(references);
        var stats = SegmentStatistics(hypothesis, references, 0, out int nrefs);
        return new ChrFScore(FScore(stats), _options.Beta, Signature(nrefs.ToString(CultureInfo.InvariantCulture)));
    }

    private string Signature(string nrefs) =>
        $"nrefs:{nrefs}|case:{(_options.Lowercase ? "lc" : "mixed")}|eff:{(_options.EpsSmoothing ? "no" : "yes")}" +
        $"|nc:{_options.CharOrder.ToString(CultureInfo.InvariantCulture)}|nw:0|space:{(_options.Whitespace ? "yes" : "no")}" +
        $"|version:{BleuOptions.CompatibleSacreBleuVersion}";

    private long[] SegmentStatistics(string hypothesis, IReadOnlyList<string> references, int row, out int referenceCount)
    {
        var hyp = CharNgrams(hypothesis);
        long[]? best = null;
        double bestF = -1;
        referenceCount = 0;
        foreach (string? reference in references)
        {
            if (string.IsNullOrEmpty(reference))
                continue;
            referenceCount++;
            var refGrams = CharNgrams(reference);
            var stats = new long[3 * _options.CharOrder];
            for (int n = 0; n < _options.CharOrder; n++)
            {
                long hypCount = 0, match = 0;
                foreach (var (gram, count) in hyp[n])
                {
                    hypCount += count;
                    if (refGrams[n].TryGetValue(gram, out int r))
                        match += Math.Min(count, r);
                }
                // sacrebleu does not count hypothesis n-grams of an order the reference lacks.
                stats[3 * n] = refGrams[n].Count > 0 ? hypCount : 0;
                stats[3 * n + 1] = refGrams[n].Values.Sum();
                stats[3 * n + 2] = match;
            }
            double f = FScore(stats);
            if (f > bestF)
            {
                bestF = f;
                best = stats;
            }
        }
        return best ?? throw new ArgumentException($"Segment {row} has no reference: every reference is empty or null.", nameof(references));
    }

    private Dictionary<string, int>[] CharNgrams(string text)
    {
        if (_options.Lowercase)
            text = text.ToLowerInvariant();
        if (!_options.Whitespace)
            text = string.Concat(BleuTokenization.SplitOnWhitespace(text));
        // Characters are Unicode scalar values, as Python indexes strings.
        var chars = new List<string>();
        foreach (Rune r in text.EnumerateRunes())
            chars.Add(r.ToString());
        var result = new Dictionary<string, int>[_options.CharOrder];
        for (int n = 1; n <= _options.CharOrder; n++)
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i + n <= chars.Count; i++)
            {
                string key = string.Concat(chars.GetRange(i, n));
                counts[key] = counts.TryGetValue(key, out int c) ? c + 1 : 1;
            }
            result[n - 1] = counts;
        }
        return result;
    }

    private double FScore(long[] stats)
    {
        double factor = _options.Beta * _options.Beta;
        int order = _options.CharOrder;
        if (_options.EpsSmoothing)
        {
            const double eps = 1e-16;
            double sum = 0;
            for (int n = 0; n < order; n++)
            {
                long h = stats[3 * n], r = stats[3 * n + 1], m = stats[3 * n + 2];
                double p = h > 0 ? (double)m / h : eps;
                double rec = r > 0 ? (double)m / r : eps;
                double denom = factor * p + rec;
                sum += denom > 0 ? (1 + factor) * p * rec / denom : eps;
            }
            return 100 * sum / order;
        }
        double avgP = 0, avgR = 0;
        int effective = 0;
        for (int n = 0; n < order; n++)
        {
            long h = stats[3 * n], r = stats[3 * n + 1], m = stats[3 * n + 2];
            if (h > 0 && r > 0)
            {
                avgP += (double)m / h;
                avgR += (double)m / r;
                effective++;
            }
        }
        if (effective == 0)
            return 0;
        avgP /= effective;
        avgR /= effective;
        return avgP + avgR == 0 ? 0 : 100 * (1 + factor) * avgP * avgR / (factor * avgP + avgR);
    }
}
