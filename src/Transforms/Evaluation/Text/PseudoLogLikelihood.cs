using Aigc.MLNet.Onnx.Runtime;

namespace Aigc.MLNet.Transforms.Evaluation.Text;

/// <summary>Options of the pseudo-log-likelihood evaluator.</summary>
public sealed class PseudoLogLikelihoodOptions
{
    /// <summary>Masked copies of a text scored per ONNX Runtime call (each copy masks one position).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (BatchSize < 1)
            throw new ArgumentException($"PseudoLogLikelihoodOptions.BatchSize must be at least 1, got {BatchSize}.", nameof(BatchSize));
    }
}

/// <summary>Pseudo-log-likelihood (Salazar et al., 2020) of a masked language model over a set of texts.</summary>
public sealed class PseudoLogLikelihoodMetrics
{
    /// <summary>Σ over texts and positions i of log p(token_i | text with position i masked), in nats.</summary>
    public double PseudoLogLikelihood { get; init; }

    /// <summary>−<see cref="PseudoLogLikelihood"/> / <see cref="TokenCount"/>: mean negative pseudo-log-likelihood per token (nats).</summary>
    public double MeanNll { get; init; }

    /// <summary>exp(<see cref="MeanNll"/>): pseudo-perplexity.</summary>
    public double PseudoPerplexity { get; init; }

    /// <summary>Tokens scored (every token of every text).</summary>
    public long TokenCount { get; init; }

    /// <summary>Number of texts.</summary>
    public int RowCount { get; init; }

    /// <summary>Pseudo-log-likelihood of each text (0 for an empty text).</summary>
    public IReadOnlyList<double> RowPseudoLogLikelihood { get; init; } = [];

    /// <summary>Tokens of each text.</summary>
    public IReadOnlyList<int> RowTokenCounts { get; init; } = [];
}

/// <summary>Computes pseudo-log-likelihoods: every position of a text is masked in turn and the log-probability of the true token summed.</summary>
public static class PseudoLogLikelihood
{
    /// <summary>Scores <paramref name="texts"/> with <paramref name="model"/>.</summary>
    /// <param name="model">The masked LM (ONNX).</param>
    /// <param name="texts">Texts without mask tokens, each at most the model's context long.</param>
    /// <param name="options">Batching.</param>
    public static PseudoLogLikelihoodMetrics Evaluate(MaskedLM model, IReadOnlyList<string> texts, PseudoLogLikelihoodOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rowPll = new double[texts.Count];
        var rowCounts = new int[texts.Count];
        int vocab = model.Config.VocabSize, maskId = model.Tokenizer.MaskTokenId;
        for (int r = 0; r < texts.Count; r++)
        {
            int[] ids = model.Tokenizer.Encode(texts[r] ?? "");
            int n = ids.Length;
            rowCounts[r] = n;
            if (n == 0)
                continue;
            if (Array.IndexOf(ids, maskId) >= 0)
                throw new ArgumentException($"Text {r} contains the mask token '{model.Tokenizer.MaskToken}'; pseudo-log-likelihood scores unmasked text.", nameof(texts));
            if (n > model.Config.MaxPositions)
                throw new ArgumentException($"Text {r} has {n} tokens; the masked LM's context (max_position_embeddings) is {model.Config.MaxPositions}. Split longer texts into rows.", nameof(texts));
            double sum = 0;
            for (int first = 0; first < n; first += options.BatchSize)
            {
                int rows = Math.Min(options.BatchSize, n - first);
                var batch = new long[rows * n];
                for (int b = 0; b < rows; b++)
                {
                    for (int t = 0; t < n; t++)
                        batch[b * n + t] = ids[t];
                    batch[b * n + first + b] = maskId;
                }
                float[] logits = model.Forward(batch, rows, n);
                for (int b = 0; b < rows; b++)
                {
                    int position = first + b;
                    sum += MaskedLM.LogProbability(logits.AsSpan(((b * n) + position) * vocab, vocab), ids[position]);
                }
            }
            rowPll[r] = sum;
        }
        long tokens = rowCounts.Sum(c => (long)c);
        double pll = rowPll.Sum();
        double meanNll = tokens == 0 ? double.NaN : -pll / tokens;
        return new PseudoLogLikelihoodMetrics
        {
            PseudoLogLikelihood = pll, MeanNll = meanNll, PseudoPerplexity = Math.Exp(meanNll), TokenCount = tokens, RowCount = texts.Count,
            RowPseudoLogLikelihood = rowPll, RowTokenCounts = rowCounts,
        };
    }
}
