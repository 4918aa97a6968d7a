using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Trainers.Evaluation;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Evaluation;
using Aigc.MLNet.Transforms.Evaluation.Images;
using Aigc.MLNet.Transforms.Evaluation.Text;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Cli.Jobs;

/// <summary>Image metrics of a generator: classifier score ("inception score" with an MNIST classifier), FID and class histogram.</summary>
/// <param name="Count">Images scored.</param>
/// <param name="ClassifierScore">exp(E[KL(p(y|x) || p(y))]), 1..10; real MNIST test images score ≈9.9.</param>
/// <param name="ClassifierScoreStd">Standard deviation over splits.</param>
/// <param name="Fid">Fréchet distance to real MNIST test images in the classifier's feature space.</param>
/// <param name="Histogram">Predicted class counts.</param>
public sealed record ImageMetrics(int Count, double ClassifierScore, double ClassifierScoreStd, double Fid, int[] Histogram);

/// <summary>Perplexity of a language model on a text.</summary>
/// <param name="Tokens">Tokens scored.</param>
/// <param name="MeanNll">Mean negative log-likelihood (nats per token).</param>
/// <param name="Perplexity">exp(MeanNll).</param>
public sealed record PerplexityResult(int Tokens, double MeanNll, double Perplexity);

/// <summary>Evaluation steps shared by the CLI, the Quickstart and the notebooks.</summary>
public static class EvaluationJob
{
    /// <summary>
    /// Perplexity of the ONNX model in <paramref name="modelFolder"/> on <paramref name="text"/> with its own tokenizer
    /// (the shared <see cref="Transforms.Evaluation.Text.Perplexity"/> evaluator: windows of the model's context).
    /// </summary>
    public static PerplexityResult Perplexity(string modelFolder, string text, int? window = null, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        using var lm = CausalLM.Load(modelFolder);
        if (lm.Tokenizer is null) throw new InvalidOperationException($"'{modelFolder}' has no tokenizer files; perplexity needs them to tokenize the text.");
        var metrics = Transforms.Evaluation.Text.Perplexity.Evaluate(lm, [text], new Transforms.Evaluation.Text.PerplexityOptions { WindowSize = window });
        return new PerplexityResult((int)metrics.TokenCount, metrics.MeanNll, metrics.Perplexity);
    }

    /// <summary>
    /// The MNIST classifier behind the image metrics: loads <paramref name="onnxPath"/>, or trains LeNet briefly
    /// (<paramref name="trainRows"/> rows, one epoch) and exports it there first.
    /// </summary>
    public static MnistClassifier LoadOrTrainClassifier(string onnxPath, int trainRows = 10_000, Action<string>? log = null)
    {
        if (!File.Exists(onnxPath))
        {
            log?.Invoke($"training the MNIST classifier for the image metrics on {trainRows} rows -> {onnxPath}");
            var train = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Train, trainRows);
            using var network = MnistClassifierTrainer.Train(train, new MnistClassifierTrainerOptions { Epochs = 1 });
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(onnxPath))!);
            LeNetOnnxExporter.Export(network, onnxPath);
        }
        return MnistClassifier.Load(onnxPath);
    }

    /// <summary>Where bench/MnistClassifier writes a classifier (artifacts/mnist-lenet/lenet-mnist.onnx).</summary>
    public static string DefaultClassifierPath => Path.Combine("artifacts", "mnist-lenet", "lenet-mnist.onnx");

    /// <summary>SHA-256 of the embedded judge (src/Cli/Assets/lenet-mnist.onnx).</summary>
    public const string JudgeSha256 = "d5ca6134106571c27a7f269772b44cdb00450fda1c036a4e18f784e9cebccbdb";

    /// <summary>
    /// The fixed MNIST judge shipped inside aigc (LeNet, 99.14 % test accuracy; src/Cli/Assets/README.md): written once,
    /// atomically, to <c>models/lenet-mnist-&lt;hash&gt;.onnx</c> under the data folder, checked, and loaded.
    /// </summary>
    public static MnistClassifier LoadJudge()
    {
        string path = Path.Combine(DatasetPaths.Root, "models", $"lenet-mnist-{JudgeSha256[..12]}.onnx");
        if (!File.Exists(path) || Sha256(path) != JudgeSha256)
        {
            using var resource = typeof(EvaluationJob).Assembly.GetManifestResourceStream("Aigc.MLNet.Cli.lenet-mnist.onnx")
                ?? throw new InvalidOperationException("The embedded MNIST judge (Aigc.MLNet.Cli.lenet-mnist.onnx) is missing from aigc.dll.");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            Onnx.Proto.AtomicFile.Write(path, resource.CopyTo);
            if (Sha256(path) != JudgeSha256) throw new InvalidDataException($"'{path}' does not hold the embedded MNIST judge (SHA-256 mismatch).");
        }
        return MnistClassifier.Load(path);
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>
    /// Scores <paramref name="count"/> images generated by the model in <paramref name="modelFolder"/>. Images are generated
    /// and classified in chunks of <see cref="ChunkSize"/>, and the features' mean and covariance are accumulated as they
    /// come (Welford), so memory holds one chunk of pixels and the class probabilities, whatever the count.
    /// </summary>
    public static ImageMetrics EvaluateImages(string modelFolder, MnistClassifier classifier, int count = 1000, int seed = 7, int referenceRows = 2000,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        var probabilities = new float[(long)count * MnistClassifier.ClassCount];
        var features = new RunningGaussian(classifier.FeatureSize);
        var chunk = new float[Math.Min(count, ChunkSize) * MnistClassifier.PixelCount];
        int done = 0, filled = 0;
        foreach (float[] image in ImageModelJob.GenerateStream(new MLContext(seed: 1), modelFolder, count, seed, cancellationToken))
        {
            image.CopyTo(chunk, filled * MnistClassifier.PixelCount);
            if (++filled < chunk.Length / MnistClassifier.PixelCount && done + filled < count) continue;
            var output = classifier.Run(chunk.AsSpan(0, filled * MnistClassifier.PixelCount), filled);
            output.Probabilities.CopyTo(probabilities, (long)done * MnistClassifier.ClassCount);
            for (int i = 0; i < filled; i++) features.Add(output.Features.AsSpan(i * classifier.FeatureSize, classifier.FeatureSize));
            done += filled;
            filled = 0;
        }
        var (score, std) = ClassifierScore.Compute(probabilities, count, MnistClassifier.ClassCount, Math.Min(10, count));
        var histogram = ClassifierScore.ClassHistogram(probabilities, count, MnistClassifier.ClassCount);
        var real = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Test, referenceRows);
        var realOut = classifier.Run(real.Pixels, real.Count);
        double fid = FrechetDistance.Compute(features.Statistics(), GaussianStatistics.FromSamples(realOut.Features, real.Count, classifier.FeatureSize));
        return new ImageMetrics(count, score, std, fid, histogram);
    }

    /// <summary>Images generated and classified together by <see cref="EvaluateImages"/>.</summary>
    public const int ChunkSize = 1000;

    /// <summary>Mean and unbiased covariance of vectors seen one at a time (Welford's update), as GaussianStatistics.FromSamples gives for all at once.</summary>
    private sealed class RunningGaussian(int dimension)
    {
        private readonly double[] _mean = new double[dimension], _scatter = new double[dimension * dimension], _delta = new double[dimension];
        private long _count;

        public void Add(ReadOnlySpan<float> x)
        {
            _count++;
            for (int j = 0; j < dimension; j++)
            {
                _delta[j] = x[j] - _mean[j];
                _mean[j] += _delta[j] / _count;
            }
            for (int j = 0; j < dimension; j++)
            {
                double dj = _delta[j];
                if (dj == 0) continue;
                for (int k = j; k < dimension; k++) _scatter[j * dimension + k] += dj * (x[k] - _mean[k]);
            }
        }

        public GaussianStatistics Statistics()
        {
            var covariance = new double[dimension * dimension];
            for (int j = 0; j < dimension; j++)
                for (int k = j; k < dimension; k++)
                    covariance[j * dimension + k] = covariance[k * dimension + j] = _scatter[j * dimension + k] / (_count - 1);
            return new GaussianStatistics((double[])_mean.Clone(), covariance, _count);
        }
    }

    /// <summary>
    /// Test-set negative ELBO of the VAE in <paramref name="modelFolder"/> (BCE-sum + KL, nats per image) on the first
    /// <paramref name="rows"/> MNIST test images, through the served ONNX pipeline: <c>EncodeLatent</c>, one posterior
    /// sample per image (as the reference PyTorch VAE's test loss), <c>DecodeLatent</c>, <c>EvaluateVae</c>.
    /// </summary>
    public static VaeMetrics VaeTestNelbo(string modelFolder, int rows = 2000, int seed = 1)
    {
        var ml = new MLContext(seed: seed);
        var test = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Test, rows);
        var encoded = ml.Transforms.EncodeLatent(modelFolder).Fit(test).Transform(test);
        var pixels = encoded.GetColumn<float[]>("Pixels").ToArray();
        var means = encoded.GetColumn<float[]>("LatentMean").ToArray();
        var logVariances = encoded.GetColumn<float[]>("LatentLogVariance").ToArray();
        int latent = means[0].Length;
        var samples = new VaeSampleRow[pixels.Length];
        for (int i = 0; i < samples.Length; i++)
        {
            float[] eps = LatentSampler.Sample(seed * 100_003 + i, latent), z = new float[latent];
            for (int j = 0; j < latent; j++) z[j] = means[i][j] + eps[j] * MathF.Exp(0.5f * logVariances[i][j]);
            samples[i] = new VaeSampleRow { Pixels = pixels[i], Latent = z, Mean = means[i], LogVariance = logVariances[i] };
        }
        var schema = SchemaDefinition.Create(typeof(VaeSampleRow));
        schema[nameof(VaeSampleRow.Pixels)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, pixels[0].Length);
        foreach (string column in new[] { nameof(VaeSampleRow.Latent), nameof(VaeSampleRow.Mean), nameof(VaeSampleRow.LogVariance) })
            schema[column].ColumnType = new VectorDataViewType(NumberDataViewType.Single, latent);
        var view = ml.Data.LoadFromEnumerable(samples, schema);
        var decoded = ml.Transforms.DecodeLatent(modelFolder, outputColumnName: "Reconstruction", inputColumnName: nameof(VaeSampleRow.Latent)).Fit(view).Transform(view);
        return ml.GenerativeEvaluation().EvaluateVae(decoded, new VaeEvaluationOptions
        {
            InputColumnName = nameof(VaeSampleRow.Pixels), ReconstructionColumnName = "Reconstruction",
            MeanColumnName = nameof(VaeSampleRow.Mean), LogVarianceColumnName = nameof(VaeSampleRow.LogVariance),
        });
    }

    /// <summary>
    /// Corpus BLEU and chrF of the model's greedy continuations of held-out lines: each line longer than 30 characters is
    /// cut in half, the model continues the first half (at most 40 tokens, up to the end of the line), and the
    /// continuation is scored against the real second half.
    /// </summary>
    public static (BleuScore Bleu, ChrFScore ChrF, int Lines) ContinuationScores(string modelFolder, string heldOutText, int lines = 20)
    {
        var chosen = heldOutText.Split('\n').Where(l => l.Length > 30).Take(lines).ToArray();
        if (chosen.Length == 0) throw new ArgumentException("The held-out text has no line longer than 30 characters to continue.", nameof(heldOutText));
        var prompts = chosen.Select(l => l[..(l.Length / 2)]).ToArray();
        var references = chosen.Select(l => (IReadOnlyList<string>)[l[(l.Length / 2)..]]).ToArray();
        using var lm = CausalLM.Load(modelFolder);
        var continuations = new TextGenerator(lm).Generate(prompts, new GenerationOptions { MaxNewTokens = 40, StopSequences = ["\n"] })
            .Select(s => s.Text ?? "").ToArray();
        return (BleuMetric.Corpus(continuations, references), new ChrFMetric().CorpusScore(continuations, references), chosen.Length);
    }

    private sealed class VaeSampleRow
    {
        public float[] Pixels { get; set; } = [];
        public float[] Latent { get; set; } = [];
        public float[] Mean { get; set; } = [];
        public float[] LogVariance { get; set; } = [];
    }
}
