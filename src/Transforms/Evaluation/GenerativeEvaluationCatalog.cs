using Aigc.MLNet.Transforms.Evaluation.Images;
using Aigc.MLNet.Transforms.Evaluation.Text;
using Microsoft.ML;

namespace Aigc.MLNet.Transforms.Evaluation;

/// <summary>Entry point of the generative evaluators: <c>mlContext.GenerativeEvaluation()</c>.</summary>
public static class GenerativeEvaluationCatalogExtensions
{
    /// <summary>Evaluators for generated text and images (BLEU, chrF, diversity, classifier score, FID, VAE ELBO).</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    public static GenerativeEvaluationCatalog GenerativeEvaluation(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new GenerativeEvaluationCatalog(mlContext);
    }
}

/// <summary>
/// ML.NET-style evaluators for generative models: each reads columns of an <see cref="IDataView"/> and returns a
/// metrics object, as <c>mlContext.Regression.Evaluate</c> does.
/// </summary>
public sealed class GenerativeEvaluationCatalog
{
    internal GenerativeEvaluationCatalog(MLContext mlContext) => Context = mlContext;

    /// <summary>The context this catalog belongs to.</summary>
    public MLContext Context { get; }

    /// <summary>Corpus BLEU (sacrebleu-compatible) of a hypothesis column against a reference column.</summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | hypothesisColumnName | Text | one generated text per row |
    /// | referenceColumnName | Text or Vector&lt;Text&gt; | the row's reference(s); empty strings are ignored |
    /// </remarks>
    /// <param name="data">Scored data.</param>
    /// <param name="hypothesisColumnName">Hypothesis column.</param>
    /// <param name="referenceColumnName">Reference column.</param>
    /// <param name="tokenizer">sacrebleu tokenizer (default 13a).</param>
    /// <param name="smoothing">Smoothing (default exp).</param>
    /// <param name="lowercase">Case-insensitive BLEU.</param>
    public BleuScore EvaluateBleu(IDataView data, string hypothesisColumnName = "Hypothesis", string referenceColumnName = "Reference",
        BleuTokenizer tokenizer = BleuTokenizer.Mteval13a, BleuSmoothing smoothing = BleuSmoothing.Exponential, bool lowercase = false) =>
        EvaluateBleu(data, hypothesisColumnName, referenceColumnName, new BleuOptions { Tokenizer = tokenizer, Smoothing = smoothing, Lowercase = lowercase });

    /// <summary>Corpus BLEU with full options (see the flat overload for the columns).</summary>
    /// <param name="data">Scored data.</param>
    /// <param name="hypothesisColumnName">Hypothesis column (Text).</param>
    /// <param name="referenceColumnName">Reference column (Text or Vector&lt;Text&gt;).</param>
    /// <param name="options">BLEU options.</param>
    public BleuScore EvaluateBleu(IDataView data, string hypothesisColumnName, string referenceColumnName, BleuOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var (hyps, refs) = ReadPairs(data, hypothesisColumnName, referenceColumnName, "BLEU");
        return new BleuMetric(options).CorpusScore(hyps, refs);
    }

    /// <summary>Corpus chrF (sacrebleu-compatible) of a hypothesis column against a reference column.</summary>
    /// <remarks>Columns as <see cref="EvaluateBleu(IDataView, string, string, BleuTokenizer, BleuSmoothing, bool)"/>.</remarks>
    /// <param name="data">Scored data.</param>
    /// <param name="hypothesisColumnName">Hypothesis column (Text).</param>
    /// <param name="referenceColumnName">Reference column (Text or Vector&lt;Text&gt;).</param>
    /// <param name="charOrder">Character n-gram order (default 6).</param>
    /// <param name="beta">Recall weight (default 2).</param>
    public ChrFScore EvaluateChrF(IDataView data, string hypothesisColumnName = "Hypothesis", string referenceColumnName = "Reference",
        int charOrder = 6, double beta = 2) =>
        EvaluateChrF(data, hypothesisColumnName, referenceColumnName, new ChrFOptions { CharOrder = charOrder, Beta = beta });

    /// <summary>Corpus chrF with full options.</summary>
    /// <param name="data">Scored data.</param>
    /// <param name="hypothesisColumnName">Hypothesis column (Text).</param>
    /// <param name="referenceColumnName">Reference column (Text or Vector&lt;Text&gt;).</param>
    /// <param name="options">chrF options.</param>
    public ChrFScore EvaluateChrF(IDataView data, string hypothesisColumnName, string referenceColumnName, ChrFOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var (hyps, refs) = ReadPairs(data, hypothesisColumnName, referenceColumnName, "chrF");
        return new ChrFMetric(options).CorpusScore(hyps, refs);
    }

    /// <summary>Diversity of generated texts: distinct-1/2, self-BLEU, repetition rate.</summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | textColumnName | Text | one generated text per row |
    /// </remarks>
    /// <param name="data">Generated texts.</param>
    /// <param name="textColumnName">Text column.</param>
    /// <param name="repetitionNgramOrder">n of seq-rep-n (default 4).</param>
    /// <param name="computeSelfBleu">Compute self-BLEU (quadratic in rows).</param>
    public TextDiversityMetrics EvaluateDiversity(IDataView data, string textColumnName = "Text", int repetitionNgramOrder = 4, bool computeSelfBleu = true) =>
        EvaluateDiversity(data, textColumnName, new TextDiversityOptions { RepetitionNgramOrder = repetitionNgramOrder, ComputeSelfBleu = computeSelfBleu });

    /// <summary>Diversity with full options.</summary>
    /// <param name="data">Generated texts.</param>
    /// <param name="textColumnName">Text column.</param>
    /// <param name="options">Diversity options.</param>
    public TextDiversityMetrics EvaluateDiversity(IDataView data, string textColumnName, TextDiversityOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var texts = ColumnReader.ReadText(data, textColumnName, nameof(textColumnName));
        ColumnReader.RequireRows(texts.Count, nameof(data), "Diversity");
        return TextDiversity.Evaluate(texts, options);
    }

    /// <summary>Perplexity of a causal LM (ONNX, via <see cref="Aigc.MLNet.Onnx.Runtime.CausalLM"/>) over a text column, with a sliding window.</summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | textColumnName | Text | one text per row; per-row NLL is in <see cref="PerplexityMetrics.RowNll"/> |
    /// </remarks>
    /// <param name="data">Texts.</param>
    /// <param name="model">The model.</param>
    /// <param name="textColumnName">Text column.</param>
    /// <param name="windowSize">Tokens per forward pass (null: the model's context length).</param>
    /// <param name="stride">Window step (null: the window size).</param>
    public PerplexityMetrics EvaluatePerplexity(IDataView data, Aigc.MLNet.Onnx.Runtime.CausalLM model, string textColumnName = "Text",
        int? windowSize = null, int? stride = null) =>
        EvaluatePerplexity(data, model, textColumnName, new PerplexityOptions { WindowSize = windowSize, Stride = stride });

    /// <summary>Perplexity with full options.</summary>
    /// <param name="data">Texts.</param>
    /// <param name="model">The model.</param>
    /// <param name="textColumnName">Text column.</param>
    /// <param name="options">Window, stride, BOS and tokenizer.</param>
    public PerplexityMetrics EvaluatePerplexity(IDataView data, Aigc.MLNet.Onnx.Runtime.CausalLM model, string textColumnName, PerplexityOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var texts = ColumnReader.ReadText(data, textColumnName, nameof(textColumnName));
        ColumnReader.RequireRows(texts.Count, nameof(data), "Perplexity");
        return Perplexity.Evaluate(model, texts, options);
    }

    /// <summary>
    /// Adds a per-row column with the mean NLL per scored token of each text under a causal LM (same windowing as
    /// <see cref="EvaluatePerplexity(IDataView, Aigc.MLNet.Onnx.Runtime.CausalLM, string, PerplexityOptions)"/>).
    /// </summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | inputColumnName | Text | input text |
    /// | outputColumnName | Single | mean NLL (nats) per scored token; NaN for texts with fewer than two tokens |
    /// The fitted transformer runs in-process; it is not saveable with <c>mlContext.Model.Save</c>.
    /// </remarks>
    /// <param name="model">The causal LM (kept open by the caller while the transformer is used).</param>
    /// <param name="outputColumnName">Score column to add.</param>
    /// <param name="inputColumnName">Text column.</param>
    /// <param name="options">Window, stride, BOS and tokenizer; null for defaults.</param>
    public RowScoreEstimator ScoreTokenNll(Aigc.MLNet.Onnx.Runtime.CausalLM model, string outputColumnName = "Nll", string inputColumnName = "Text",
        PerplexityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        return RowScoreMappings.Nll(Context, model, inputColumnName, outputColumnName, options ?? new PerplexityOptions());
    }

    /// <summary>Adds a per-row sentence BLEU column (sacrebleu's <c>sentence_bleu</c>: effective order unless set otherwise).</summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | hypothesisColumnName | Text | generated text |
    /// | referenceColumnName | Text or Vector&lt;Text&gt; | reference(s) |
    /// | outputColumnName | Single | sentence BLEU on 0..100 |
    /// The fitted transformer runs in-process; it is not saveable with <c>mlContext.Model.Save</c>.
    /// </remarks>
    /// <param name="outputColumnName">Score column to add.</param>
    /// <param name="hypothesisColumnName">Hypothesis column.</param>
    /// <param name="referenceColumnName">Reference column.</param>
    /// <param name="options">BLEU options; null for sacrebleu's sentence defaults.</param>
    public RowScoreEstimator ScoreSentenceBleu(string outputColumnName = "SentenceBleu", string hypothesisColumnName = "Hypothesis",
        string referenceColumnName = "Reference", BleuOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(hypothesisColumnName);
        ArgumentException.ThrowIfNullOrEmpty(referenceColumnName);
        return RowScoreMappings.SentenceBleu(Context, hypothesisColumnName, referenceColumnName, outputColumnName, options ?? new BleuOptions());
    }

    /// <summary>Classifier score, FID against real images, and class histogram of generated MNIST-like images.</summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | imageColumnName (generated) | Vector&lt;Single, 784&gt; | 28x28 pixels row by row in [0, 1] |
    /// | realImageColumnName (real) | Vector&lt;Single, 784&gt; | same, e.g. <c>mlContext.Data.LoadMnist(...)</c>'s Pixels |
    /// </remarks>
    /// <param name="generated">Generated images.</param>
    /// <param name="classifier">The MNIST classifier (<see cref="MnistClassifier.Load"/>).</param>
    /// <param name="realData">Real images for FID; null skips FID.</param>
    /// <param name="imageColumnName">Column of the generated images.</param>
    /// <param name="realImageColumnName">Column of the real images.</param>
    /// <param name="splits">Splits of the classifier score.</param>
    public ImageGenerationMetrics EvaluateImages(IDataView generated, MnistClassifier classifier, IDataView? realData = null,
        string imageColumnName = "Pixels", string realImageColumnName = "Pixels", int splits = 10) =>
        EvaluateImages(generated, classifier, new ImageEvaluationOptions
        {
            RealData = realData, ImageColumnName = imageColumnName, RealImageColumnName = realImageColumnName, Splits = splits,
        });

    /// <summary>Image metrics with full options.</summary>
    /// <param name="generated">Generated images.</param>
    /// <param name="classifier">The MNIST classifier.</param>
    /// <param name="options">Columns, real data and splits.</param>
    public ImageGenerationMetrics EvaluateImages(IDataView generated, MnistClassifier classifier, ImageEvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(generated);
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(options);
        var (pixels, count) = ReadImages(generated, options.ImageColumnName, nameof(generated));
        if (options.Splits < 1 || options.Splits > count)
            throw new ArgumentOutOfRangeException(nameof(options), options.Splits,
                $"ImageEvaluationOptions.Splits must be between 1 and the number of generated images ({count}).");
        var output = classifier.Run(pixels, count);
        var (score, std) = ClassifierScore.Compute(output.Probabilities, count, MnistClassifier.ClassCount, options.Splits);
        var histogram = ClassifierScore.ClassHistogram(output.Probabilities, count, MnistClassifier.ClassCount);
        double fid = double.NaN;
        int realCount = 0;
        if (options.RealData is not null)
        {
            var (realPixels, rc) = ReadImages(options.RealData, options.RealImageColumnName, nameof(options.RealData));
            if (count < 2 || rc < 2)
                throw new ArgumentException($"FID needs at least 2 generated and 2 real images; got {count} and {rc}.", nameof(options));
            var real = classifier.Run(realPixels, rc);
            fid = FrechetDistance.Compute(output.Features, count, real.Features, rc, classifier.FeatureSize);
            realCount = rc;
        }
        return new ImageGenerationMetrics
        {
            Count = count,
            ClassifierScore = score,
            ClassifierScoreStandardDeviation = std,
            Splits = options.Splits,
            FrechetDistance = fid,
            RealCount = realCount,
            ClassHistogram = histogram,
            ModesCovered = histogram.Count(h => h > 0),
            ClassDistributionKl = ClassifierScore.KlToUniform(histogram),
        };
    }

    /// <summary>VAE reconstruction BCE, KL and negative ELBO from encoder and decoder outputs stored as columns.</summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | inputColumnName | Vector&lt;Single, n&gt; | targets in [0, 1] |
    /// | reconstructionColumnName | Vector&lt;Single, n&gt; | decoder probabilities (or logits) |
    /// | meanColumnName | Vector&lt;Single, k&gt; | encoder μ |
    /// | logVarianceColumnName | Vector&lt;Single, k&gt; | encoder log σ² |
    /// </remarks>
    /// <param name="data">Encoded and decoded test data.</param>
    /// <param name="inputColumnName">Input images.</param>
    /// <param name="reconstructionColumnName">Decoder output.</param>
    /// <param name="meanColumnName">Encoder mean.</param>
    /// <param name="logVarianceColumnName">Encoder log-variance.</param>
    /// <param name="reconstructionIsLogits">Whether the decoder output is logits rather than probabilities.</param>
    public VaeMetrics EvaluateVae(IDataView data, string inputColumnName = "Pixels", string reconstructionColumnName = "Reconstruction",
        string meanColumnName = "Mean", string logVarianceColumnName = "LogVariance", bool reconstructionIsLogits = false) =>
        EvaluateVae(data, new VaeEvaluationOptions
        {
            InputColumnName = inputColumnName, ReconstructionColumnName = reconstructionColumnName, MeanColumnName = meanColumnName,
            LogVarianceColumnName = logVarianceColumnName, ReconstructionIsLogits = reconstructionIsLogits,
        });

    /// <summary>VAE metrics with an options object.</summary>
    /// <param name="data">Encoded and decoded test data.</param>
    /// <param name="options">Column names.</param>
    public VaeMetrics EvaluateVae(IDataView data, VaeEvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var (x, rows, size) = ColumnReader.ReadVectors(data, options.InputColumnName, nameof(options.InputColumnName), null, "input pixels in [0, 1]");
        ColumnReader.RequireRows(rows, nameof(data), "VAE evaluation");
        var (recon, _, _) = ColumnReader.ReadVectors(data, options.ReconstructionColumnName, nameof(options.ReconstructionColumnName), size,
            $"reconstructions of the {size}-value input");
        var (mu, _, latent) = ColumnReader.ReadVectors(data, options.MeanColumnName, nameof(options.MeanColumnName), null, "encoder means");
        var (logVar, _, _) = ColumnReader.ReadVectors(data, options.LogVarianceColumnName, nameof(options.LogVarianceColumnName), latent,
            $"encoder log-variances of the {latent}-dimensional latent");
        double bceSum = 0, klSum = 0;
        for (int r = 0; r < rows; r++)
        {
            double bce = 0;
            for (int i = r * size; i < (r + 1) * size; i++)
            {
                double target = x[i], y = recon[i];
                if (!options.ReconstructionIsLogits && (y < 0 || y > 1 || double.IsNaN(y)))
                    throw new ArgumentException($"Column '{options.ReconstructionColumnName}' row {r} holds {y}, not a probability in [0, 1]; " +
                        "set reconstructionIsLogits if the decoder outputs logits.", nameof(options));
                bce += options.ReconstructionIsLogits
                    ? Math.Max(y, 0) - y * target + Math.Log(1 + Math.Exp(-Math.Abs(y)))
                    // Log terms clamped at -100 like torch.nn.functional.binary_cross_entropy.
                    : -(target * Math.Max(Math.Log(y), -100) + (1 - target) * Math.Max(Math.Log(1 - y), -100));
            }
            double kl = 0;
            for (int j = r * latent; j < (r + 1) * latent; j++)
                kl += -0.5 * (1 + logVar[j] - (double)mu[j] * mu[j] - Math.Exp(logVar[j]));
            bceSum += bce;
            klSum += kl;
        }
        return new VaeMetrics { Count = rows, ReconstructionBce = bceSum / rows, Kl = klSum / rows, Nelbo = (bceSum + klSum) / rows };
    }

    private static (List<string> Hypotheses, List<IReadOnlyList<string>> References) ReadPairs(IDataView data, string hypothesisColumnName,
        string referenceColumnName, string metric)
    {
        var hyps = ColumnReader.ReadText(data, hypothesisColumnName, nameof(hypothesisColumnName));
        var refs = ColumnReader.ReadTextLists(data, referenceColumnName, nameof(referenceColumnName));
        ColumnReader.RequireRows(hyps.Count, nameof(data), metric);
        return (hyps, refs.Select(r => (IReadOnlyList<string>)r).ToList());
    }

    private static (float[] Pixels, int Count) ReadImages(IDataView data, string columnName, string parameterName)
    {
        var (pixels, rows, _) = ColumnReader.ReadVectors(data, columnName, parameterName, MnistClassifier.PixelCount, "28x28 images, 784 pixels in [0, 1]");
        ColumnReader.RequireRows(rows, parameterName, "Image evaluation");
        for (int i = 0; i < pixels.Length; i++)
            if (!(pixels[i] >= -1e-3f && pixels[i] <= 1.001f))
                throw new ArgumentException($"Column '{columnName}' row {i / MnistClassifier.PixelCount} has pixel value {pixels[i]}; " +
                    "pixels must be in [0, 1] (rescale tanh outputs with (x + 1) / 2).", parameterName);
        return (pixels, rows);
    }
}
