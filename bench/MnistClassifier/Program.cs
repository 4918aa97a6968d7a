// Trains the LeNet MNIST classifier behind the image metrics, exports it to ONNX and reports:
// TorchSharp and ONNX Runtime test accuracy, the classifier score of the real test set, and FID(test, train[0..10k)).
//   dotnet run -c Release --project bench/MnistClassifier -- [--out DIR (default artifacts/mnist-lenet)] [--epochs N] [--seed S]
//       [--train-rows N] [--conv1 C] [--conv2 C] [--hidden H]
// Writes DIR/lenet-mnist.onnx (used by mlContext.GenerativeEvaluation().EvaluateImages) and DIR/lenet-mnist.weights.
using System.Diagnostics;
using Aigc.MLNet.Trainers.Evaluation;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Evaluation.Images;

string outDir = Path.Combine("artifacts", "mnist-lenet");
var options = new MnistClassifierTrainerOptions();
int? trainRows = null;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option {args[i]} needs a value.");
    switch (args[i])
    {
        case "--out": outDir = Next(); break;
        case "--epochs": options.Epochs = int.Parse(Next()); break;
        case "--seed": options.Seed = int.Parse(Next()); break;
        case "--train-rows": trainRows = int.Parse(Next()); break;
        case "--conv1": options.Architecture.Conv1Channels = int.Parse(Next()); break;
        case "--conv2": options.Architecture.Conv2Channels = int.Parse(Next()); break;
        case "--hidden": options.Architecture.HiddenUnits = int.Parse(Next()); break;
        default: throw new ArgumentException($"Unknown option '{args[i]}'. Options: --out DIR, --epochs N, --seed S, --train-rows N, --conv1 C, --conv2 C, --hidden H.");
    }
}

var total = Stopwatch.StartNew();
var train = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Train, trainRows);
var test = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Test);
Console.WriteLine($"train {train.Count} images, test {test.Count} images, epochs {options.Epochs}, seed {options.Seed}, " +
                  $"threads {TorchSharp.torch.get_num_threads()}");
string onnxPath = Path.Combine(outDir, "lenet-mnist.onnx");
// Every epoch replaces the saved model (atomically), so an interrupted run still leaves the last finished epoch.
using var network = MnistClassifierTrainer.Train(train, options, Console.WriteLine, (epoch, net) =>
{
    MnistClassifierTrainer.SaveWeights(net, Path.Combine(outDir, "lenet-mnist.weights"));
    LeNetOnnxExporter.Export(net, onnxPath);
    Console.WriteLine($"  epoch {epoch}: TorchSharp test accuracy {MnistClassifierTrainer.Accuracy(net, test):P2}, saved {onnxPath} ({total.Elapsed.TotalSeconds:F0} s)");
});
double torchAccuracy = MnistClassifierTrainer.Accuracy(network, test);
Console.WriteLine($"TorchSharp test accuracy: {torchAccuracy:P2}");

using var classifier = MnistClassifier.Load(onnxPath);
var testOut = classifier.Run(test.Pixels, test.Count);
var histogram = ClassifierScore.ClassHistogram(testOut.Probabilities, test.Count, MnistClassifier.ClassCount);
int correct = 0;
for (int i = 0; i < test.Count; i++)
{
    int best = 0;
    for (int c = 1; c < 10; c++)
        if (testOut.Probabilities[i * 10 + c] > testOut.Probabilities[i * 10 + best]) best = c;
    if (best == test.Labels[i]) correct++;
}
Console.WriteLine($"ONNX Runtime test accuracy: {(double)correct / test.Count:P2}");
var (score, std) = ClassifierScore.Compute(testOut.Probabilities, test.Count, MnistClassifier.ClassCount, 10);
Console.WriteLine($"classifier score of the real test set (10 splits): {score:F3} ± {std:F3}");
Console.WriteLine($"test class histogram: {string.Join(" ", histogram)}");
int refCount = Math.Min(10_000, train.Count);
var trainOut = classifier.Run(train.Pixels.AsSpan(0, refCount * MnistClassifier.PixelCount), refCount);
double fid = FrechetDistance.Compute(testOut.Features, test.Count, trainOut.Features, refCount, classifier.FeatureSize);
double self = FrechetDistance.Compute(testOut.Features, test.Count, testOut.Features, test.Count, classifier.FeatureSize);
Console.WriteLine($"FID(test, train[0..{refCount})) = {fid:F4}; FID(test, test) = {self:E2}");
Console.WriteLine($"wall time {total.Elapsed.TotalSeconds:F0} s");
