using System.Globalization;

namespace Aigc.MLNet.Transforms.Evaluation.Text;

/// <summary>A BLEU score with its sufficient statistics, as sacrebleu's <c>BLEUScore</c>.</summary>
public sealed class BleuScore
{
    internal BleuScore(double score, double[] counts, double[] totals, double[] precisions, double brevityPenalty,
        int hypothesisLength, int referenceLength, string signature)
    {
        Score = score;
        Counts = counts;
        Totals = totals;
        Precisions = precisions;
        BrevityPenalty = brevityPenalty;
        HypothesisLength = hypothesisLength;
        ReferenceLength = referenceLength;
        Signature = signature;
    }

    /// <summary>BLEU on sacrebleu's 0..100 scale.</summary>
    public double Score { get; }

    /// <summary>Clipped n-gram matches per order (1-based order n at index n-1; <c>add-k</c> adds k from order 2 on).</summary>
    public IReadOnlyList<double> Counts { get; }

    /// <summary>Hypothesis n-grams per order (<c>add-k</c> adds k from order 2 on).</summary>
    public IReadOnlyList<double> Totals { get; }

    /// <summary>Smoothed n-gram precisions per order on the 0..100 scale.</summary>
    public IReadOnlyList<double> Precisions { get; }

    /// <summary>Brevity penalty: exp(1 - ref/hyp) when the hypothesis is shorter, else 1 (0 for an empty hypothesis).</summary>
    public double BrevityPenalty { get; }

    /// <summary>Total hypothesis tokens.</summary>
    public int HypothesisLength { get; }

    /// <summary>Total closest-reference tokens.</summary>
    public int ReferenceLength { get; }

    /// <summary>Hypothesis length / reference length (0 when the reference length is 0).</summary>
    public double Ratio => ReferenceLength == 0 ? 0 : (double)HypothesisLength / ReferenceLength;

    /// <summary>sacrebleu's reproducibility signature, e.g. <c>nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.5.1</c>.</summary>
    public string Signature { get; }

    /// <summary>sacrebleu's score line, e.g. <c>BLEU = 42.47 80.0/55.6/33.3/14.3 (BP = 1.000 ratio = 1.000 hyp_len = 5 ref_len = 5)</c>.</summary>
    public override string ToString() => Format(2);

    /// <summary>sacrebleu's score line with <paramref name="width"/> decimals for the score.</summary>
    /// <param name="width">Decimals of the score (sacrebleu's <c>-w</c>).</param>
    public string Format(int width)
    {
        var c = CultureInfo.InvariantCulture;
        string precisions = string.Join("/", Precisions.Select(p => p.ToString("F1", c)));
        return $"BLEU = {Score.ToString("F" + width, c)} {precisions} (BP = {BrevityPenalty.ToString("F3", c)} " +
               $"ratio = {Ratio.ToString("F3", c)} hyp_len = {HypothesisLength.ToString(c)} ref_len = {ReferenceLength.ToString(c)})";
    }
}
