namespace Aigc.MLNet.Transforms.Evaluation.Text;

/// <summary>Options of <see cref="TextDiversity.Evaluate(IReadOnlyList{string}, TextDiversityOptions?)"/>.</summary>
public sealed class TextDiversityOptions
{
    /// <summary>Tokenizer that splits texts into words (default sacrebleu's <c>13a</c>).</summary>
    public BleuTokenizer Tokenizer { get; set; } = BleuTokenizer.Mteval13a;

    /// <summary>Lowercase before tokenizing.</summary>
    public bool Lowercase { get; set; }

    /// <summary>n of the repetition rate seq-rep-n (default 4, as Welleck et al. 2019).</summary>
    public int RepetitionNgramOrder { get; set; } = 4;

    /// <summary>Compute self-BLEU (quadratic in the number of texts; default true).</summary>
    public bool ComputeSelfBleu { get; set; } = true;

    /// <summary>BLEU options of self-BLEU; null uses sacrebleu's sentence BLEU defaults with <see cref="Tokenizer"/>.</summary>
    public BleuOptions? SelfBleuOptions { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Tokenizer))
            throw new ArgumentException($"TextDiversityOptions.Tokenizer: unknown value {(int)Tokenizer}.", nameof(Tokenizer));
        if (RepetitionNgramOrder < 1)
            throw new ArgumentException($"TextDiversityOptions.RepetitionNgramOrder must be >= 1, got {RepetitionNgramOrder}.", nameof(RepetitionNgramOrder));
        SelfBleuOptions?.Validate();
    }
}

/// <summary>Diversity of a set of generated texts.</summary>
public sealed class TextDiversityMetrics
{
    /// <summary>Number of texts.</summary>
    public int TextCount { get; init; }

    /// <summary>Number of tokens over all texts.</summary>
    public long TokenCount { get; init; }

    /// <summary>distinct-1 (Li et al., 2016): distinct unigrams / unigrams over the whole set (0 when there are none).</summary>
    public double Distinct1 { get; init; }

    /// <summary>distinct-2: distinct bigrams / bigrams over the whole set (0 when there are none).</summary>
    public double Distinct2 { get; init; }

    /// <summary>
    /// Self-BLEU (Zhu et al., 2018) on 0..100: mean sentence BLEU of each text against all the others as references;
    /// higher means less diverse. NaN when not computed or fewer than two texts.
    /// </summary>
    public double SelfBleu { get; init; }

    /// <summary>
    /// Repetition rate seq-rep-n (Welleck et al., 2019): mean over texts of 1 − distinct n-grams / n-grams within the
    /// text (texts shorter than n are skipped; 0 when every text is).
    /// </summary>
    public double RepetitionRate { get; init; }

    /// <summary>The n of <see cref="RepetitionRate"/>.</summary>
    public int RepetitionNgramOrder { get; init; }
}

/// <summary>Diversity metrics of generated text: distinct-n, self-BLEU and repetition rate.</summary>
public static class TextDiversity
{
    /// <summary>Computes all diversity metrics of a set of texts.</summary>
    /// <param name="texts">Generated texts.</param>
    /// <param name="options">Tokenization and metric options.</param>
    public static TextDiversityMetrics Evaluate(IReadOnlyList<string> texts, TextDiversityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        options ??= new TextDiversityOptions();
        options.Validate();
        if (texts.Count == 0)
            throw new ArgumentException("Diversity needs at least one text; the set is empty.", nameof(texts));
        var tokens = Tokenize(texts, options.Tokenizer, options.Lowercase);
        return new TextDiversityMetrics
        {
            TextCount = texts.Count,
            TokenCount = tokens.Sum(t => (long)t.Length),
            Distinct1 = DistinctN(tokens, 1),
            Distinct2 = DistinctN(tokens, 2),
            SelfBleu = options.ComputeSelfBleu ? SelfBleu(tokens, SelfBleuOptions(options)) : double.NaN,
            RepetitionRate = RepetitionRate(tokens, options.RepetitionNgramOrder),
            RepetitionNgramOrder = options.RepetitionNgramOrder,
        };
    }

    /// <summary>distinct-n over a set of texts: distinct n-grams / n-grams (0 when there are none).</summary>
    /// <param name="texts">Texts.</param>
    /// <param name="n">n-gram order.</param>
    /// <param name="tokenizer">Word tokenizer (default 13a).</param>
    public static double DistinctN(IReadOnlyList<string> texts, int n, BleuTokenizer tokenizer = BleuTokenizer.Mteval13a)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        return DistinctN(Tokenize(texts, tokenizer, false), n);
    }

    /// <summary>Self-BLEU on 0..100 (NaN for fewer than two texts).</summary>
    /// <param name="texts">Texts.</param>
    /// <param name="options">BLEU options (sentence BLEU defaults when null).</param>
    public static double SelfBleu(IReadOnlyList<string> texts, BleuOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        options ??= new BleuOptions();
        return SelfBleu(Tokenize(texts, options.Tokenizer, options.Lowercase), options);
    }

    /// <summary>Repetition rate seq-rep-n (see <see cref="TextDiversityMetrics.RepetitionRate"/>).</summary>
    /// <param name="texts">Texts.</param>
    /// <param name="n">n-gram order (default 4).</param>
    /// <param name="tokenizer">Word tokenizer (default 13a).</param>
    public static double RepetitionRate(IReadOnlyList<string> texts, int n = 4, BleuTokenizer tokenizer = BleuTokenizer.Mteval13a)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        return RepetitionRate(Tokenize(texts, tokenizer, false), n);
    }

    private static BleuOptions SelfBleuOptions(TextDiversityOptions options)
    {
        var bleu = options.SelfBleuOptions?.Clone() ?? new BleuOptions();
        if (options.SelfBleuOptions is null)
        {
            bleu.Tokenizer = options.Tokenizer;
            bleu.Lowercase = options.Lowercase;
        }
        return bleu;
    }

    private static string[][] Tokenize(IReadOnlyList<string> texts, BleuTokenizer tokenizer, bool lowercase)
    {
        var result = new string[texts.Count][];
        for (int i = 0; i < texts.Count; i++)
        {
            string text = texts[i] ?? throw new ArgumentException($"Text {i} is null.", nameof(texts));
            if (lowercase)
                text = text.ToLowerInvariant();
            result[i] = BleuTokenization.Tokenize(text.TrimEnd(), tokenizer);
        }
        return result;
    }

    private static double DistinctN(string[][] tokens, int n)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long total = 0;
        foreach (var t in tokens)
            for (int i = 0; i + n <= t.Length; i++, total++)
                seen.Add(NgramCounter.Key(t, i, n));
        return total == 0 ? 0 : (double)seen.Count / total;
    }

    private static double RepetitionRate(string[][] tokens, int n)
    {
        double sum = 0;
        int counted = 0;
        foreach (var t in tokens)
        {
            int total = t.Length - n + 1;
            if (total <= 0)
                continue;
            int distinct = NgramCounter.CountOrder(t, n).Count;
            sum += 1.0 - (double)distinct / total;
            counted++;
        }
        return counted == 0 ? 0 : sum / counted;
    }

    private static double SelfBleu(string[][] tokens, BleuOptions options)
    {
        if (tokens.Length < 2)
            return double.NaN;
        var metric = new BleuMetric(options);
        double sum = 0;
        var others = new List<string[]>(tokens.Length - 1);
        for (int i = 0; i < tokens.Length; i++)
        {
            others.Clear();
            for (int j = 0; j < tokens.Length; j++)
                if (j != i && tokens[j].Length > 0)
                    others.Add(tokens[j]);
            // With no non-empty other text there is nothing to resemble: that text contributes 0.
            if (others.Count > 0)
                sum += metric.SentenceScoreOfTokens(tokens[i], others).Score;
        }
        return sum / tokens.Length;
    }
}
