namespace Aigc.MLNet.Transforms.Evaluation.Text;

/// <summary>How BLEU treats n-gram orders with no match (Chen and Cherry, 2014), as sacrebleu names them.</summary>
public enum BleuSmoothing
{
    /// <summary>sacrebleu's default <c>exp</c> (NIST, mteval-v13a): the k-th zero precision becomes 1 / (2^k · total).</summary>
    Exponential = 0,

    /// <summary><c>floor</c>: a zero precision becomes <see cref="BleuOptions.SmoothingValue"/> / total (default 0.1).</summary>
    Floor = 1,

    /// <summary><c>add-k</c>: adds <see cref="BleuOptions.SmoothingValue"/> (default 1) to matches and totals of orders ≥ 2.</summary>
    AddK = 2,

    /// <summary><c>none</c>: no smoothing; any zero precision gives BLEU 0.</summary>
    None = 3,
}

/// <summary>Options of <see cref="BleuMetric"/>, named after sacrebleu's <c>BLEU(...)</c> arguments.</summary>
public sealed class BleuOptions
{
    /// <summary>The version written in signatures: the sacrebleu release whose BLEU this implementation reproduces.</summary>
    public const string CompatibleSacreBleuVersion = "2.5.1";

    /// <summary>Tokenizer applied to hypotheses and references (default <c>13a</c>).</summary>
    public BleuTokenizer Tokenizer { get; set; } = BleuTokenizer.Mteval13a;

    /// <summary>Smoothing method (default <c>exp</c>).</summary>
    public BleuSmoothing Smoothing { get; set; } = BleuSmoothing.Exponential;

    /// <summary>Value for <c>floor</c> (default 0.1) and <c>add-k</c> (default 1); null takes the default. Ignored otherwise.</summary>
    public double? SmoothingValue { get; set; }

    /// <summary>Lowercase hypotheses and references before tokenizing (signature <c>case:lc</c>).</summary>
    public bool Lowercase { get; set; }

    /// <summary>
    /// Stop at the highest n-gram order the hypothesis has (sacrebleu's <c>effective_order</c>).
    /// Null means: off for corpus BLEU, on for sentence BLEU (as <c>sacrebleu.corpus_bleu</c> / <c>sentence_bleu</c>).
    /// </summary>
    public bool? EffectiveOrder { get; set; }

    /// <summary>Highest n-gram order (default 4).</summary>
    public int MaxNgramOrder { get; set; } = 4;

    /// <summary>Returns a copy.</summary>
    public BleuOptions Clone() => (BleuOptions)MemberwiseClone();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Tokenizer))
            throw new ArgumentException($"BleuOptions.Tokenizer: unknown value {(int)Tokenizer}; expected 13a, intl or none.", nameof(Tokenizer));
        if (!Enum.IsDefined(Smoothing))
            throw new ArgumentException($"BleuOptions.Smoothing: unknown value {(int)Smoothing}; expected exp, floor, add-k or none.", nameof(Smoothing));
        if (SmoothingValue is { } v && (!double.IsFinite(v) || v < 0))
            throw new ArgumentException($"BleuOptions.SmoothingValue must be a finite number >= 0, got {v}.", nameof(SmoothingValue));
        if (MaxNgramOrder < 1)
            throw new ArgumentException($"BleuOptions.MaxNgramOrder must be >= 1, got {MaxNgramOrder}.", nameof(MaxNgramOrder));
    }

    /// <summary>sacrebleu's name for a smoothing method.</summary>
    /// <param name="smoothing">The method.</param>
    public static string SmoothingName(BleuSmoothing smoothing) => smoothing switch
    {
        BleuSmoothing.Exponential => "exp",
        BleuSmoothing.Floor => "floor",
        BleuSmoothing.AddK => "add-k",
        BleuSmoothing.None => "none",
        _ => throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, "Expected exp, floor, add-k or none."),
    };

    /// <summary>The default smoothing value of a method (null when it takes none).</summary>
    /// <param name="smoothing">The method.</param>
    public static double? DefaultSmoothingValue(BleuSmoothing smoothing) => smoothing switch
    {
        BleuSmoothing.Floor => 0.1,
        BleuSmoothing.AddK => 1.0,
        _ => null,
    };
}
