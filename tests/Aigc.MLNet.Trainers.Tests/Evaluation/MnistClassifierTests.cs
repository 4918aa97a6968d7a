using Aigc.MLNet.Trainers.Evaluation;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Evaluation;
using Aigc.MLNet.Transforms.Evaluation.Images;
using Microsoft.ML;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Tests.Evaluation;

[TestClass]
public sealed class MnistClassifierTests
{
    private static readonly LeNetOptions Small = new() { Conv1Channels = 6, Conv2Channels = 12, HiddenUnits = 24, Dropout = 0 };

    private static MnistDataset? _train;
    private static MnistDataset? _test;
    private static LeNet? _network;
    private static string _folder = "";

    [ClassInitialize]
    public static void TrainSmallClassifier(TestContext _)
    {
        _train = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Train, 3000);
        _test = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Test, 500);
        _network = MnistClassifierTrainer.Train(_train, new MnistClassifierTrainerOptions { Architecture = Small, Epochs = 3, BatchSize = 32, LearningRate = 3e-3, LearningRateDecay = 1, Seed = 3 });
        _folder = Path.Combine(Path.GetTempPath(), $"aigc-lenet-{Guid.NewGuid():N}");
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _network?.Dispose();
        if (Directory.Exists(_folder))
            Directory.Delete(_folder, recursive: true);
    }

    [TestMethod]
    public void SmallClassifierLearnsMnist()
    {
        double accuracy = MnistClassifierTrainer.Accuracy(_network!, _test!);
        Assert.IsTrue(accuracy > 0.80, $"3000 images x 3 epochs should exceed 80 % test accuracy, got {accuracy:P1}");
    }

    [TestMethod]
    public void OnnxExportMatchesTorchSharpOnProbabilitiesAndFeatures()
    {
        string path = Path.Combine(_folder, "lenet.onnx");
        LeNetOnnxExporter.Export(_network!, path);
        using var classifier = MnistClassifier.Load(path);
        Assert.AreEqual(Small.HiddenUnits, classifier.FeatureSize);
        const int n = 64;
        var pixels = _test!.Pixels.AsSpan(0, n * 784).ToArray();
        var onnx = classifier.Run(pixels, n, batchSize: 25);

        using var noGrad = torch.no_grad();
        using var x = torch.tensor(pixels, [n, 1, 28, 28]);
        using var logits = _network!.forward(x);
        using var probs = torch.nn.functional.softmax(logits, 1);
        using var feats = _network.Features(x);
        var expectedProbs = probs.data<float>().ToArray();
        var expectedFeats = feats.data<float>().ToArray();
        for (int i = 0; i < expectedProbs.Length; i++)
            Assert.AreEqual(expectedProbs[i], onnx.Probabilities[i], 1e-5, $"probability {i}");
        for (int i = 0; i < expectedFeats.Length; i++)
            Assert.AreEqual(expectedFeats[i], onnx.Features[i], 1e-4 * Math.Max(1, Math.Abs(expectedFeats[i])), $"feature {i}");
    }

    [TestMethod]
    public void WeightsRoundTripByPathAndBadArchitectureFailsClearly()
    {
        string path = Path.Combine(_folder, "lenet.weights");
        MnistClassifierTrainer.SaveWeights(_network!, path);
        Assert.AreEqual(0, Directory.GetFiles(_folder, "*.tmp-*").Length, "no temporary file is left behind");
        using var loaded = MnistClassifierTrainer.LoadWeights(path, Small);
        using var noGrad = torch.no_grad();
        using var x = torch.tensor(_test!.Pixels.AsSpan(0, 10 * 784).ToArray(), [10, 1, 28, 28]);
        using var a = _network!.forward(x);
        using var b = loaded.forward(x);
        CollectionAssert.AreEqual(a.data<float>().ToArray(), b.data<float>().ToArray());

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => MnistClassifierTrainer.LoadWeights(path, new LeNetOptions()));
        StringAssert.Contains(ex.Message, "does not match");
        Assert.ThrowsExactly<FileNotFoundException>(() => MnistClassifierTrainer.LoadWeights(Path.Combine(_folder, "missing.weights"), Small));
    }

    [TestMethod]
    public void RealTestImagesScoreHigherAndCloserThanNoise()
    {
        string path = Path.Combine(_folder, "lenet-eval.onnx");
        LeNetOnnxExporter.Export(_network!, path);
        using var classifier = MnistClassifier.Load(path);
        var ml = new MLContext(seed: 1);
        var real = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Test, 500);
        var reference = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Train, 500);
        var rng = new Random(1);
        var noise = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 500).Select(_ => new NoiseRow
        {
            Pixels = Enumerable.Range(0, 784).Select(_ => (float)rng.NextDouble()).ToArray(),
        }));
        var realMetrics = ml.GenerativeEvaluation().EvaluateImages(real, classifier, reference);
        var noiseMetrics = ml.GenerativeEvaluation().EvaluateImages(noise, classifier, reference);
        Assert.IsTrue(realMetrics.ClassifierScore > 5, $"real digits: classifier score {realMetrics.ClassifierScore}");
        Assert.IsTrue(noiseMetrics.ClassifierScore < realMetrics.ClassifierScore);
        Assert.AreEqual(10, realMetrics.ModesCovered);
        Assert.IsTrue(realMetrics.FrechetDistance * 5 < noiseMetrics.FrechetDistance,
            $"FID real {realMetrics.FrechetDistance} should be far below noise {noiseMetrics.FrechetDistance}");
        var self = ml.GenerativeEvaluation().EvaluateImages(real, classifier, real);
        Assert.AreEqual(0.0, self.FrechetDistance, 1e-6);
    }

    [TestMethod]
    public void TrainingIsDeterministicForASeed()
    {
        var tiny = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Train, 200);
        var options = new MnistClassifierTrainerOptions { Architecture = Small, Epochs = 1, BatchSize = 50, Seed = 9 };
        using var a = MnistClassifierTrainer.Train(tiny, options);
        using var b = MnistClassifierTrainer.Train(tiny, options);
        using var noGrad = torch.no_grad();
        using var x = torch.tensor(tiny.Pixels.AsSpan(0, 5 * 784).ToArray(), [5, 1, 28, 28]);
        using var ya = a.forward(x);
        using var yb = b.forward(x);
        CollectionAssert.AreEqual(ya.data<float>().ToArray(), yb.data<float>().ToArray());
        Assert.ThrowsExactly<ArgumentException>(() => MnistClassifierTrainer.Train(tiny, new MnistClassifierTrainerOptions { Epochs = 0 }));
    }

    private sealed class NoiseRow
    {
        [Microsoft.ML.Data.VectorType(784)]
        public float[] Pixels { get; set; } = [];
    }
}
