using Microsoft.ML.OnnxRuntime;

namespace Aigc.MLNet.Transforms.Evaluation.Images;

/// <summary>Class probabilities and penultimate features of a batch of images.</summary>
/// <param name="Count">Number of images.</param>
/// <param name="Probabilities">Count × 10 class probabilities.</param>
/// <param name="Features">Count × <see cref="MnistClassifier.FeatureSize"/> features.</param>
public sealed record MnistClassifierOutput(int Count, float[] Probabilities, float[] Features);

/// <summary>
/// The project's MNIST classifier (trained by <c>bench/MnistClassifier</c>) run with ONNX Runtime, without libtorch.
/// </summary>
/// <remarks>
/// Expects an ONNX model with input <c>pixels</c> float [batch, 784] (28x28 in [0, 1]) and outputs
/// <c>probabilities</c> [batch, 10] and <c>features</c> [batch, d], as written by <c>LeNetOnnxExporter</c>.
/// </remarks>
public sealed class MnistClassifier : IDisposable
{
    /// <summary>Pixels per image (28 × 28).</summary>
    public const int PixelCount = 784;

    /// <summary>Number of classes.</summary>
    public const int ClassCount = 10;

    private readonly InferenceSession _session;

    private MnistClassifier(InferenceSession session, int featureSize, string path)
    {
        _session = session;
        FeatureSize = featureSize;
        ModelPath = path;
    }

    /// <summary>Size of the penultimate feature vector.</summary>
    public int FeatureSize { get; }

    /// <summary>The ONNX file this classifier was loaded from.</summary>
    public string ModelPath { get; }

    /// <summary>Loads a classifier from an ONNX file and checks its inputs and outputs.</summary>
    /// <param name="onnxPath">Path of the classifier's .onnx file.</param>
    public static MnistClassifier Load(string onnxPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        if (!File.Exists(onnxPath))
            throw new FileNotFoundException($"MNIST classifier model '{onnxPath}' does not exist; train it with bench/MnistClassifier.", onnxPath);
        Aigc.MLNet.Onnx.Runtime.OnnxRuntimeNative.EnsureAvailable();
        var session = new InferenceSession(onnxPath);
        try
        {
            if (!session.InputMetadata.TryGetValue("pixels", out var input) || input.ElementType != typeof(float))
                throw new InvalidDataException($"'{onnxPath}' is not an MNIST classifier: expected a float input 'pixels' [batch, 784], found inputs " +
                    $"{string.Join(", ", session.InputMetadata.Keys)}.");
            if (!session.OutputMetadata.ContainsKey("probabilities") || !session.OutputMetadata.TryGetValue("features", out var features))
                throw new InvalidDataException($"'{onnxPath}' is not an MNIST classifier: expected outputs 'probabilities' and 'features', found " +
                    $"{string.Join(", ", session.OutputMetadata.Keys)}.");
            int featureSize = features.Dimensions.Length == 2 && features.Dimensions[1] > 0 ? features.Dimensions[1]
                : throw new InvalidDataException($"'{onnxPath}': output 'features' must be [batch, d] with a fixed d.");
            return new MnistClassifier(session, featureSize, onnxPath);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Classifies images and extracts their features.</summary>
    /// <param name="pixels">count × 784 pixel values in [0, 1].</param>
    /// <param name="count">Number of images.</param>
    /// <param name="batchSize">Images per ONNX Runtime call.</param>
    public MnistClassifierOutput Run(ReadOnlySpan<float> pixels, int count, int batchSize = 500)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (pixels.Length != (long)count * PixelCount)
            throw new ArgumentException($"Expected {count} images of 28x28 = {PixelCount} pixels ({(long)count * PixelCount} values), got {pixels.Length} values.", nameof(pixels));
        var probabilities = new float[count * ClassCount];
        var features = new float[count * FeatureSize];
        var buffer = new float[Math.Min(batchSize, Math.Max(count, 1)) * PixelCount];
        string[] outputs = ["probabilities", "features"];
        for (int start = 0; start < count; start += batchSize)
        {
            int b = Math.Min(batchSize, count - start);
            var batch = b * PixelCount == buffer.Length ? buffer : new float[b * PixelCount];
            pixels.Slice(start * PixelCount, b * PixelCount).CopyTo(batch);
            using var input = OrtValue.CreateTensorValueFromMemory(batch, [b, PixelCount]);
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, ["pixels"], [input], outputs);
            results[0].GetTensorDataAsSpan<float>().CopyTo(probabilities.AsSpan(start * ClassCount, b * ClassCount));
            results[1].GetTensorDataAsSpan<float>().CopyTo(features.AsSpan(start * FeatureSize, b * FeatureSize));
        }
        return new MnistClassifierOutput(count, probabilities, features);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();
}
