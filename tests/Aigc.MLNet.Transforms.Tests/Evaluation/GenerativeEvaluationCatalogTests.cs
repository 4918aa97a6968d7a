using Aigc.MLNet.Transforms;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Transforms.Evaluation;
using Aigc.MLNet.Transforms.Evaluation.Images;
using Aigc.MLNet.Transforms.Evaluation.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Evaluation;

[TestClass]
public sealed class GenerativeEvaluationCatalogTests
{
    private sealed class TextRow
    {
        public string Hypothesis { get; set; } = "";
        public string[] Reference { get; set; } = [];
        public float Number { get; set; }
    }

    private sealed class ImageRow
    {
        [VectorType(784)]
        public float[] Pixels { get; set; } = [];
    }

    private sealed class SmallImageRow
    {
        [VectorType(100)]
        public float[] Pixels { get; set; } = [];
    }

    private sealed class VaeRow
    {
        [VectorType(2)] public float[] Pixels { get; set; } = [];
        [VectorType(2)] public float[] Reconstruction { get; set; } = [];
        [VectorType(2)] public float[] Mean { get; set; } = [];
        [VectorType(2)] public float[] LogVariance { get; set; } = [];
    }

    private static readonly MLContext Ml = new(seed: 1);

    [TestMethod]
    public void BleuOverDataViewEqualsDirectComputation()
    {
        var rows = new[]
        {
            new TextRow { Hypothesis = "the cat is on the mat", Reference = ["there is a cat on the mat", "a cat is on the mat"] },
            new TextRow { Hypothesis = "hello world", Reference = ["hello there world", ""] },
        };
        var data = Ml.Data.LoadFromEnumerable(rows);
        var viaCatalog = Ml.GenerativeEvaluation().EvaluateBleu(data);
        var direct = BleuMetric.Corpus(rows.Select(r => r.Hypothesis).ToList(), rows.Select(r => (IReadOnlyList<string>)r.Reference).ToList());
        Assert.AreEqual(direct.Score, viaCatalog.Score, 1e-12);
        Assert.AreEqual(direct.Score, Ml.Generative().Evaluation.EvaluateBleu(data).Score, 1e-12);
        Assert.AreEqual("nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.5.1", viaCatalog.Signature);
        var chrf = Ml.GenerativeEvaluation().EvaluateChrF(data);
        Assert.AreEqual(new ChrFMetric().CorpusScore(rows.Select(r => r.Hypothesis).ToList(), rows.Select(r => (IReadOnlyList<string>)r.Reference).ToList()).Score, chrf.Score, 1e-12);
        // A scalar Text reference column works too.
        var single = Ml.Data.LoadFromEnumerable(new[] { new { Hypothesis = "a b c d", Reference = "a b c d" } });
        Assert.AreEqual(100.0, Ml.GenerativeEvaluation().EvaluateBleu(single).Score, 1e-9);
    }

    [TestMethod]
    public void TextEvaluatorsRejectBadColumnsAndEmptyData()
    {
        var data = Ml.Data.LoadFromEnumerable(new[] { new TextRow { Hypothesis = "a", Reference = ["a"], Number = 1 } });
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Ml.GenerativeEvaluation().EvaluateBleu(data, "Output"));
        StringAssert.Contains(missing.Message, "Column 'Output' not found");
        StringAssert.Contains(missing.Message, "'Hypothesis'");
        var wrongType = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Ml.GenerativeEvaluation().EvaluateBleu(data, referenceColumnName: "Number"));
        StringAssert.Contains(wrongType.Message, "must be Text or a vector of Text");
        StringAssert.Contains(wrongType.Message, "Single");
        var empty = Ml.Data.LoadFromEnumerable(Array.Empty<TextRow>());
        var ex = Assert.ThrowsExactly<ArgumentException>(() => Ml.GenerativeEvaluation().EvaluateBleu(empty));
        StringAssert.Contains(ex.Message, "empty");
        Assert.ThrowsExactly<ArgumentException>(() => Ml.GenerativeEvaluation().EvaluateDiversity(empty, "Hypothesis"));
        var noRefs = Ml.Data.LoadFromEnumerable(new[] { new TextRow { Hypothesis = "a", Reference = ["", ""] } });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Ml.GenerativeEvaluation().EvaluateBleu(noRefs)).Message, "no reference");
    }

    [TestMethod]
    public void DiversityOverDataView()
    {
        var data = Ml.Data.LoadFromEnumerable(new[] { new { Text = "the cat the cat" }, new { Text = "a dog" } });
        var m = Ml.GenerativeEvaluation().EvaluateDiversity(data, repetitionNgramOrder: 2);
        Assert.AreEqual(4.0 / 6, m.Distinct1, 1e-12);
        Assert.AreEqual(3.0 / 4, m.Distinct2, 1e-12);
        Assert.AreEqual(1.0 / 6, m.RepetitionRate, 1e-12);
        Assert.AreEqual(0.0, m.SelfBleu, 1e-12);
    }

    [TestMethod]
    public void ImageEvaluatorRunsTheOnnxClassifierAndGivesZeroFidAgainstItself()
    {
        string path = WriteTinyClassifier();
        using var classifier = MnistClassifier.Load(path);
        Assert.AreEqual(4, classifier.FeatureSize);
        var images = RandomImages(40, seed: 3);
        var data = Ml.Data.LoadFromEnumerable(images);
        var m = Ml.GenerativeEvaluation().EvaluateImages(data, classifier, realData: data, splits: 4);
        Assert.AreEqual(40, m.Count);
        Assert.AreEqual(40, m.RealCount);
        Assert.AreEqual(0.0, m.FrechetDistance, 1e-6);
        Assert.AreEqual(40, m.ClassHistogram.Sum());
        Assert.AreEqual(m.ClassHistogram.Count(h => h > 0), m.ModesCovered);

        var flat = images.SelectMany(r => r.Pixels).ToArray();
        var output = classifier.Run(flat, 40);
        var (score, std) = ClassifierScore.Compute(output.Probabilities, 40, 10, 4);
        Assert.AreEqual(score, m.ClassifierScore, 1e-12);
        Assert.AreEqual(std, m.ClassifierScoreStandardDeviation, 1e-12);
        // Probabilities are a softmax: each row sums to 1.
        for (int i = 0; i < 40; i++)
            Assert.AreEqual(1.0, output.Probabilities.AsSpan(i * 10, 10).ToArray().Sum(), 1e-5);

        var other = Ml.Data.LoadFromEnumerable(RandomImages(30, seed: 4, scale: 0.5f));
        var vsOther = Ml.GenerativeEvaluation().EvaluateImages(data, classifier, realData: other, splits: 1);
        Assert.IsTrue(vsOther.FrechetDistance > 1e-3, $"FID between different sets should be positive, got {vsOther.FrechetDistance}");
    }

    [TestMethod]
    public void ImageEvaluatorRejectsWrongSizeRangeEmptyAndBadModels()
    {
        using var classifier = MnistClassifier.Load(WriteTinyClassifier());
        var small = Ml.Data.LoadFromEnumerable(new[] { new SmallImageRow { Pixels = new float[100] } });
        var size = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Ml.GenerativeEvaluation().EvaluateImages(small, classifier));
        StringAssert.Contains(size.Message, "Vector<Single, 784>");
        StringAssert.Contains(size.Message, "Vector<Single, 100>");

        var bytesScale = RandomImages(2, seed: 1);
        bytesScale[1].Pixels[5] = 255;
        var range = Assert.ThrowsExactly<ArgumentException>(() =>
            Ml.GenerativeEvaluation().EvaluateImages(Ml.Data.LoadFromEnumerable(bytesScale), classifier, splits: 1));
        StringAssert.Contains(range.Message, "row 1 has pixel value 255");

        var empty = Ml.Data.LoadFromEnumerable(Array.Empty<ImageRow>());
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Ml.GenerativeEvaluation().EvaluateImages(empty, classifier)).Message, "empty");
        var tooFewForSplits = Ml.Data.LoadFromEnumerable(RandomImages(3, seed: 2));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Ml.GenerativeEvaluation().EvaluateImages(tooFewForSplits, classifier, splits: 10));

        Assert.ThrowsExactly<FileNotFoundException>(() => MnistClassifier.Load("/nonexistent/lenet.onnx"));
        var g = new OnnxGraph("id");
        g.AddInput("x", OnnxElementType.Float, ["batch", 3]);
        g.AddNode("Identity", ["x"], ["y"]);
        g.AddOutput("y", OnnxElementType.Float, ["batch", 3]);
        string wrong = Path.Combine(Path.GetTempPath(), $"not-a-classifier-{Guid.NewGuid():N}.onnx");
        new OnnxModel(g).Save(wrong);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => MnistClassifier.Load(wrong)).Message, "found inputs x");
        Assert.ThrowsExactly<ArgumentException>(() => classifier.Run(new float[783], 1));
    }

    [TestMethod]
    public void VaeMetricsMatchHandComputation()
    {
        // x = (1, 0), p = (0.5, 0.25): BCE = −ln 0.5 − ln 0.75 = ln 2 + ln(4/3).
        // μ = (1, 0), log σ² = (0, ln 2): KL = −½[(1 + 0 − 1 − 1) + (1 + ln 2 − 0 − 2)] = 1 − ln(2)/2.
        double bce = Math.Log(2) + Math.Log(4.0 / 3), kl = 1 - Math.Log(2) / 2;
        var row = new VaeRow { Pixels = [1, 0], Reconstruction = [0.5f, 0.25f], Mean = [1, 0], LogVariance = [0, (float)Math.Log(2)] };
        var m = Ml.GenerativeEvaluation().EvaluateVae(Ml.Data.LoadFromEnumerable(new[] { row, row }));
        Assert.AreEqual(2, m.Count);
        Assert.AreEqual(bce, m.ReconstructionBce, 1e-6);
        Assert.AreEqual(kl, m.Kl, 1e-6);
        Assert.AreEqual(bce + kl, m.Nelbo, 1e-6);
        // The same reconstruction as logits: logit(0.5) = 0, logit(0.25) = ln(1/3).
        var logits = new VaeRow { Pixels = [1, 0], Reconstruction = [0f, (float)Math.Log(1.0 / 3)], Mean = [1, 0], LogVariance = [0, (float)Math.Log(2)] };
        var ml = Ml.GenerativeEvaluation().EvaluateVae(Ml.Data.LoadFromEnumerable(new[] { logits }), reconstructionIsLogits: true);
        Assert.AreEqual(bce, ml.ReconstructionBce, 1e-6);

        var bad = new VaeRow { Pixels = [1, 0], Reconstruction = [2f, 0.5f], Mean = [0, 0], LogVariance = [0, 0] };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() =>
            Ml.GenerativeEvaluation().EvaluateVae(Ml.Data.LoadFromEnumerable(new[] { bad }))).Message, "not a probability");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() =>
            Ml.GenerativeEvaluation().EvaluateVae(Ml.Data.LoadFromEnumerable(Array.Empty<VaeRow>()))).Message, "empty");
    }

    private static ImageRow[] RandomImages(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(_ => new ImageRow { Pixels = Enumerable.Range(0, 784).Select(_ => (float)rng.NextDouble() * scale).ToArray() })
            .ToArray();
    }

    // A stand-in classifier with the exporter's contract: features = relu(pixels W1 + b1) [4], logits = features W2 + b2.
    private static string WriteTinyClassifier()
    {
        var rng = new Random(7);
        float[] Random(int n, double s) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() - 0.5) * s)).ToArray();
        var g = new OnnxGraph("tiny");
        g.AddInput("pixels", OnnxElementType.Float, ["batch", 784]);
        string w1 = g.AddInitializer("w1", Random(784 * 4, 0.2), [784, 4]);
        string b1 = g.AddInitializer("b1", Random(4, 0.1), [4]);
        string w2 = g.AddInitializer("w2", Random(40, 4), [4, 10]);
        string b2 = g.AddInitializer("b2", Random(10, 0.1), [10]);
        string h = g.Apply("Gemm", ["pixels", w1, b1]);
        g.AddNode("Relu", [h], ["features"]);
        g.AddNode("Gemm", ["features", w2, b2], ["logits"]);
        g.AddNode("Softmax", ["logits"], ["probabilities"], OnnxAttribute.Int("axis", 1));
        g.AddOutput("probabilities", OnnxElementType.Float, ["batch", 10]);
        g.AddOutput("features", OnnxElementType.Float, ["batch", 4]);
        string path = Path.Combine(Path.GetTempPath(), $"tiny-mnist-classifier-{Guid.NewGuid():N}.onnx");
        new OnnxModel(g).Save(path);
        return path;
    }
}
