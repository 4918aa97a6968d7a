// Evaluates generative image models exported to ONNX with the project's MNIST classifier, through the ML.NET evaluators.
//   dotnet run -c Release --project bench/ImageGenerationEval -- --classifier artifacts/mnist-lenet/lenet-mnist.onnx
//       [--gan generator.onnx] [--vae folder-with-encoder.onnx-and-decoder.onnx] [--real-test] [--count 10000] [--seed 1]
// Contracts (as written by the image trainers' exporters): generator z [batch, latent] (+ optional label int64 [batch])
// -> image [batch, 784] in [0, 1]; VAE encoder pixels -> mean, log_variance; decoder z -> image (sigmoid).
using System.Diagnostics;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Evaluation;
using Aigc.MLNet.Transforms.Evaluation.Images;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

string? classifierPath = null, ganPath = null, vaeFolder = null;
bool realTest = false;
int count = 10_000, seed = 1;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option {args[i]} needs a value.");
    switch (args[i])
    {
        case "--classifier": classifierPath = Next(); break;
        case "--gan": ganPath = Next(); break;
        case "--vae": vaeFolder = Next(); break;
        case "--real-test": realTest = true; break;
        case "--count": count = int.Parse(Next()); break;
        case "--seed": seed = int.Parse(Next()); break;
        default: throw new ArgumentException($"Unknown option '{args[i]}'.");
    }
}
if (classifierPath is null)
    throw new ArgumentException("--classifier PATH is required (train it with bench/MnistClassifier).");

var ml = new MLContext(seed);
using var classifier = MnistClassifier.Load(classifierPath);
var test = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Test);
var eval = ml.GenerativeEvaluation();

void Report(string name, ImageGenerationMetrics m, TimeSpan elapsed) =>
    Console.WriteLine($"{name}: n={m.Count} classifier score {m.ClassifierScore:F3} ± {m.ClassifierScoreStandardDeviation:F3} ({m.Splits} splits), " +
                      $"FID {m.FrechetDistance:F3}, modes {m.ModesCovered}/10, KL(hist‖uniform) {m.ClassDistributionKl:F4}, " +
                      $"histogram [{string.Join(" ", m.ClassHistogram)}], {elapsed.TotalSeconds:F1} s");

if (realTest)
{
    var clock = Stopwatch.StartNew();
    var train = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Train, 10_000);
    Report("MNIST test set (real; FID vs train[0..10k))", eval.EvaluateImages(test, classifier, train), clock.Elapsed);
}

if (ganPath is not null)
{
    var clock = Stopwatch.StartNew();
    using var session = new InferenceSession(ganPath);
    int latent = session.InputMetadata["z"].Dimensions[1];
    bool conditional = session.InputMetadata.ContainsKey("label");
    var rng = new Random(seed);
    var z = Gaussian(rng, count * latent);
    var feeds = new Dictionary<string, OrtValue> { ["z"] = OrtValue.CreateTensorValueFromMemory(z, [count, latent]) };
    if (conditional)
        feeds["label"] = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, count).Select(i => (long)(i % 10)).ToArray(), [count]);
    using var runOptions = new RunOptions();
    using var outputs = session.Run(runOptions, feeds, ["image"]);
    foreach (var v in feeds.Values) v.Dispose();
    var images = outputs[0].GetTensorDataAsSpan<float>().ToArray();
    Report($"GAN {ganPath} (FID vs MNIST test){(conditional ? " (labels cycling 0..9)" : "")}", eval.EvaluateImages(AsImages(ml, images, count), classifier, test), clock.Elapsed);
}

if (vaeFolder is not null)
{
    var clock = Stopwatch.StartNew();
    using var encoder = new InferenceSession(Path.Combine(vaeFolder, "encoder.onnx"));
    using var decoder = new InferenceSession(Path.Combine(vaeFolder, "decoder.onnx"));
    var mnist = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Test);
    int n = mnist.Count;
    using var runOptions = new RunOptions();
    using var pixels = OrtValue.CreateTensorValueFromMemory(mnist.Pixels, [n, 784]);
    using var encoded = encoder.Run(runOptions, ["pixels"], [pixels], ["mean", "log_variance"]);
    var mean = encoded[0].GetTensorDataAsSpan<float>().ToArray();
    var logVar = encoded[1].GetTensorDataAsSpan<float>().ToArray();
    int latent = mean.Length / n;
    // One reparameterised sample per image, as the reference PyTorch VAE's test loss does.
    var rng = new Random(seed);
    var eps = Gaussian(rng, mean.Length);
    var zs = new float[mean.Length];
    for (int i = 0; i < zs.Length; i++)
        zs[i] = mean[i] + eps[i] * MathF.Exp(0.5f * logVar[i]);
    using var zValue = OrtValue.CreateTensorValueFromMemory(zs, [n, latent]);
    using var decoded = decoder.Run(runOptions, ["z"], [zValue], ["image"]);
    var recon = decoded[0].GetTensorDataAsSpan<float>().ToArray();
    var rows = Enumerable.Range(0, n).Select(r => new VaeRow
    {
        Pixels = mnist.Pixels.AsSpan(r * 784, 784).ToArray(),
        Reconstruction = recon.AsSpan(r * 784, 784).ToArray(),
        Mean = mean.AsSpan(r * latent, latent).ToArray(),
        LogVariance = logVar.AsSpan(r * latent, latent).ToArray(),
    });
    var schema = SchemaDefinition.Create(typeof(VaeRow));
    schema["Mean"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, latent);
    schema["LogVariance"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, latent);
    var vae = eval.EvaluateVae(ml.Data.LoadFromEnumerable(rows, schema));
    Console.WriteLine($"VAE {vaeFolder} on MNIST test: reconstruction BCE {vae.ReconstructionBce:F2}, KL {vae.Kl:F2}, NELBO {vae.Nelbo:F2} nats/image");

    var prior = Gaussian(rng, count * latent);
    using var priorValue = OrtValue.CreateTensorValueFromMemory(prior, [count, latent]);
    using var sampled = decoder.Run(runOptions, ["z"], [priorValue], ["image"]);
    Report("VAE samples from the prior (FID vs MNIST test)", eval.EvaluateImages(AsImages(ml, sampled[0].GetTensorDataAsSpan<float>().ToArray(), count), classifier, test), clock.Elapsed);
}

static float[] Gaussian(Random rng, int n)
{
    var values = new float[n];
    for (int i = 0; i < n; i++)
        values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
    return values;
}

static IDataView AsImages(MLContext ml, float[] pixels, int count) =>
    ml.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new ImageRow { Pixels = pixels.AsSpan(i * 784, 784).ToArray() }));

sealed class ImageRow
{
    [VectorType(784)]
    public float[] Pixels { get; set; } = [];
}

sealed class VaeRow
{
    [VectorType(784)] public float[] Pixels { get; set; } = [];
    [VectorType(784)] public float[] Reconstruction { get; set; } = [];
    public float[] Mean { get; set; } = [];
    public float[] LogVariance { get; set; } = [];
}
