using Aigc.MLNet.Onnx.Runtime;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Transforms.Evaluation.Text;

/// <summary>Options of <see cref="Perplexity"/>.</summary>
public sealed class PerplexityOptions
{
    /// <summary>Tokens per forward pass; null uses the model's context length (<c>n_positions</c>), else 1024.</summary>
    public int? WindowSize { get; set; }

    /// <summary>
    /// How far the window moves; null means <see cref="WindowSize"/> (disjoint chunks). A smaller stride overlaps windows
    /// so that each scored token sees up to WindowSize − Stride tokens of extra context (Hugging Face's perplexity guide).
    /// </summary>
    public int? Stride { get; set; }

    /// <summary>Prepend the model's BOS token so the first text token is scored too (default false, as the guide).</summary>
    public bool PrependBos { get; set; }

    /// <summary>Tokenizer to use instead of the one found beside the model.</summary>
    public Tokenizer? Tokenizer { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (WindowSize is < 2)
            throw new ArgumentException($"PerplexityOptions.WindowSize must be >= 2 (one context token and one target), got {WindowSize}.", nameof(WindowSize));
        if (Stride is < 1)
            throw new ArgumentException($"PerplexityOptions.Stride must be >= 1, got {Stride}.", nameof(Stride));
        if (WindowSize is { } w && Stride is { } s && s > w)
            throw new ArgumentException($"PerplexityOptions.Stride ({s}) must not exceed WindowSize ({w}); tokens would be skipped.", nameof(Stride));
    }
}

/// <summary>Perplexity of a causal language model over a set of texts.</summary>
public sealed class PerplexityMetrics
{
    /// <summary>Mean negative log-likelihood per scored token (nats), over all texts.</summary>
    public double MeanNll { get; init; }

    /// <summary>exp(<see cref="MeanNll"/>).</summary>
    public double Perplexity { get; init; }

    /// <summary>Number of scored tokens (each text's first token has no context and is not scored unless BOS is prepended).</summary>
    public long TokenCount { get; init; }

    /// <summary>Number of texts.</summary>
    public int RowCount { get; init; }

    /// <summary>Mean NLL per scored token of each text (NaN when a text has no scored token).</summary>
    public IReadOnlyList<double> RowNll { get; init; } = [];

    /// <summary>Scored tokens of each text.</summary>
    public IReadOnlyList<int> RowTokenCounts { get; init; } = [];

    /// <summary>Window and stride actually used.</summary>
    public (int Window, int Stride) Windowing { get; init; }
}

/// <summary>
/// Token-level perplexity with a sliding window (Hugging Face's "Perplexity of fixed-length models"): windows start every
/// <c>stride</c> tokens, each spans up to <c>window</c> tokens, and a window only scores the tokens the previous window did not,
/// so every token after the first is scored exactly once, with up to window − stride tokens of extra left context.
/// </summary>
public static class Perplexity
{
    /// <summary>Perplexity of texts under a model loaded with <see cref="CausalLM.Load"/>.</summary>
    /// <param name="model">The causal LM (ONNX).</param>
    /// <param name="texts">Texts to score.</param>
    /// <param name="options">Window, stride, tokenizer.</param>
    public static PerplexityMetrics Evaluate(CausalLM model, IReadOnlyList<string> texts, PerplexityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(texts);
        options ??= new PerplexityOptions();
        options.Validate();
        if (texts.Count == 0)
            throw new ArgumentException("Perplexity needs at least one text; the set is empty.", nameof(texts));
        var tokenizer = options.Tokenizer ?? model.Tokenizer
            ?? throw new ArgumentException($"Model '{model.ModelPath}' has no tokenizer beside it; set PerplexityOptions.Tokenizer.", nameof(options));
        int window = options.WindowSize ?? model.Config.MaxPositions ?? 1024;
        int stride = options.Stride ?? window;
        if (stride > window)
            throw new ArgumentException($"PerplexityOptions.Stride ({stride}) must not exceed the window ({window}).", nameof(options));
        int? bos = null;
        if (options.PrependBos)
            bos = model.Config.BosTokenId ?? throw new ArgumentException($"Model '{model.ModelPath}' declares no BOS token; PrependBos needs one.", nameof(options));

        var rowNll = new double[texts.Count];
        var rowCounts = new int[texts.Count];
        double total = 0;
        long count = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            string text = texts[i] ?? throw new ArgumentException($"Text {i} is null.", nameof(texts));
            var ids = new List<int>();
            if (bos is { } b)
                ids.Add(b);
            ids.AddRange(tokenizer.EncodeToIds(text));
            var (nll, n) = ScoreTokens(model, ids, window, stride);
            rowNll[i] = n == 0 ? double.NaN : nll / n;
            rowCounts[i] = n;
            total += nll;
            count += n;
        }
        if (count == 0)
            throw new ArgumentException("No text has two or more tokens, so no token could be scored.", nameof(texts));
        double mean = total / count;
        return new PerplexityMetrics
        {
            MeanNll = mean, Perplexity = Math.Exp(mean), TokenCount = count, RowCount = texts.Count,
            RowNll = rowNll, RowTokenCounts = rowCounts, Windowing = (window, stride),
        };
    }

    /// <summary>Summed NLL (nats) and number of scored tokens of one token sequence.</summary>
    /// <param name="model">The causal LM.</param>
    /// <param name="ids">Token ids.</param>
    /// <param name="window">Tokens per forward pass (≥ 2).</param>
    /// <param name="stride">Window step (1..window).</param>
    public static (double NllSum, int TokenCount) ScoreTokens(CausalLM model, IReadOnlyList<int> ids, int window, int stride)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 2);
        if (stride < 1 || stride > window)
            throw new ArgumentOutOfRangeException(nameof(stride), stride, $"stride must be in 1..window ({window}).");
        double nll = 0;
        int scored = 0, previousEnd = 0;
        for (int begin = 0; begin < ids.Count; begin += stride)
        {
            int end = Math.Min(begin + window, ids.Count);
            int firstTarget = Math.Max(previousEnd, begin + 1);
            if (firstTarget < end)
            {
                var chunk = new int[end - begin];
                for (int k = 0; k < chunk.Length; k++)
                    chunk[k] = ids[begin + k];
                float[] logits = model.ComputeLogits(chunk);
                int vocab = logits.Length / chunk.Length;
                for (int target = firstTarget; target < end; target++)
                {
                    // Row (target − 1 − begin) holds the distribution of the token at position target.
                    var row = logits.AsSpan((target - 1 - begin) * vocab, vocab);
                    int id = ids[target];
                    if ((uint)id >= (uint)vocab)
                        throw new ArgumentException($"Token id {id} is outside the model's vocabulary of {vocab}.", nameof(ids));
                    nll += LogSumExp(row) - row[id];
                    scored++;
                }
            }
            previousEnd = end;
            if (end == ids.Count)
                break;
        }
        return (nll, scored);
    }

    private static double LogSumExp(ReadOnlySpan<float> values)
    {
        float max = float.NegativeInfinity;
        foreach (float v in values)
            if (v > max) max = v;
        double sum = 0;
        foreach (float v in values)
            sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
