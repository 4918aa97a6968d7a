using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Transforms.Evaluation;
using Aigc.MLNet.Transforms.Evaluation.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Evaluation;

[TestClass]
public sealed class PerplexityTests
{
    // Tiny "bag of context" LM over the characters a, b, c: logits(t) = Σ_{i ≤ t} E[token_i] (Gather + CumSum),
    // so a longer context changes (and for repeated text sharpens) the prediction: windowing matters.
    private static readonly float[,] E = { { 1.0f, -0.5f, 0.0f }, { -0.3f, 0.8f, 0.1f }, { 0.2f, 0.2f, 0.4f } };
    private static readonly Dictionary<string, int> Vocab = new() { ["a"] = 0, ["b"] = 1, ["c"] = 2 };
    private static string _folder = "";
    private static CausalLM? _model;

    [ClassInitialize]
    public static void WriteModel(TestContext _)
    {
        _folder = Path.Combine(Path.GetTempPath(), $"aigc-ppl-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
        var g = new OnnxGraph("bag");
        g.AddInput("input_ids", OnnxElementType.Int64, ["batch", "sequence"]);
        var table = new float[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                table[i * 3 + j] = E[i, j];
        string emb = g.AddInitializer("embedding", table, [3, 3]);
        string gathered = g.Apply("Gather", [emb, "input_ids"], OnnxAttribute.Int("axis", 0));
        string axis = g.AddScalar("axis", 1L);
        g.AddNode("CumSum", [gathered, axis], ["logits"]);
        g.AddOutput("logits", OnnxElementType.Float, ["batch", "sequence", 3]);
        string path = Path.Combine(_folder, "model.onnx");
        new OnnxModel(g).Save(path);
        _model = CausalLM.Load(path, new CausalLMOptions { LoadTokenizer = false });
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _model?.Dispose();
        if (Directory.Exists(_folder))
            Directory.Delete(_folder, recursive: true);
    }

    private static PerplexityOptions Options(int window, int? stride = null) =>
        new() { WindowSize = window, Stride = stride, Tokenizer = CharTokenizer.FromVocabulary(Vocab) };

    private static int[] Ids(string text) => text.Select(c => c - 'a').ToArray();

    // Independent reference: NLL of token t given tokens [start, t) of the same window, from E directly.
    private static double Nll(int[] ids, int start, int t)
    {
        var logits = new double[3];
        for (int i = start; i < t; i++)
            for (int v = 0; v < 3; v++)
                logits[v] += E[ids[i], v];
        double max = logits.Max();
        double lse = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        return lse - logits[ids[t]];
    }

    [TestMethod]
    public void PerplexityIsExpOfMeanNllComputedIndependently()
    {
        string[] texts = ["abcabca", "aab", "c"];
        var m = Perplexity.Evaluate(_model!, texts, Options(window: 64));
        double sum = 0;
        int n = 0;
        foreach (string text in texts)
        {
            var ids = Ids(text);
            for (int t = 1; t < ids.Length; t++, n++)
                sum += Nll(ids, 0, t);
        }
        Assert.AreEqual(6 + 2 + 0, m.TokenCount);
        Assert.AreEqual(n, m.TokenCount);
        Assert.AreEqual(sum / n, m.MeanNll, 1e-5);
        Assert.AreEqual(Math.Exp(sum / n), m.Perplexity, 1e-5);
        Assert.IsTrue(double.IsNaN(m.RowNll[2]), "a one-token text has nothing to score");
        var ids0 = Ids("abcabca");
        Assert.AreEqual(Enumerable.Range(1, 6).Sum(t => Nll(ids0, 0, t)) / 6, m.RowNll[0], 1e-5);
    }

    [TestMethod]
    public void StrideEqualToWindowEqualsIndependentChunks()
    {
        var ids = Ids("abcaabbccabcbaca"); // 16 tokens; window 5 -> chunks [0,5) [5,10) [10,15) [15,16)
        var (nll, count) = Perplexity.ScoreTokens(_model!, ids, window: 5, stride: 5);
        double expected = 0;
        int expectedCount = 0;
        for (int start = 0; start < ids.Length; start += 5)
        {
            var chunk = ids.Skip(start).Take(5).ToArray();
            var (chunkNll, chunkCount) = Perplexity.ScoreTokens(_model!, chunk, window: 64, stride: 64);
            expected += chunkNll;
            expectedCount += chunkCount;
            for (int t = start + 1; t < Math.Min(start + 5, ids.Length); t++)
                chunkNll -= Nll(ids, start, t);
            Assert.AreEqual(0.0, chunkNll, 1e-5, "chunk scored as an independent text");
        }
        Assert.AreEqual(expectedCount, count);
        Assert.AreEqual(4 + 4 + 4 + 0, count);
        Assert.AreEqual(expected, nll, 1e-5);
    }

    [TestMethod]
    public void OverlappingStridesScoreEveryTokenAndLowerPerplexityOnRepetitiveText()
    {
        // On "aaaa...", the logit of 'a' grows with every 'a' of context, so more context means lower NLL.
        string text = new('a', 24);
        var disjoint = Perplexity.Evaluate(_model!, [text], Options(window: 6));
        var half = Perplexity.Evaluate(_model!, [text], Options(window: 6, stride: 3));
        var one = Perplexity.Evaluate(_model!, [text], Options(window: 6, stride: 1));
        Assert.AreEqual(24 - 4, disjoint.TokenCount); // first token of each of the 4 chunks is unscored
        Assert.AreEqual(23, half.TokenCount);
        Assert.AreEqual(23, one.TokenCount);
        Assert.IsTrue(half.Perplexity < disjoint.Perplexity, $"{half.Perplexity} < {disjoint.Perplexity}");
        Assert.IsTrue(one.Perplexity <= half.Perplexity, $"{one.Perplexity} <= {half.Perplexity}");
        // Stride 1: token t (t >= 6) is scored in the window starting at t-5, with 5 tokens of context.
        var ids = Ids(text);
        double expected = Enumerable.Range(1, 23).Sum(t => Nll(ids, Math.Max(0, t - 5), t)) / 23;
        Assert.AreEqual(expected, one.MeanNll, 1e-5);
    }

    [TestMethod]
    public void CatalogReadsTextColumnAndRejectsBadInput()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { Text = "abcabca" }, new { Text = "aab" } });
        var viaCatalog = ml.GenerativeEvaluation().EvaluatePerplexity(data, _model!, "Text", Options(window: 64));
        var direct = Perplexity.Evaluate(_model!, ["abcabca", "aab"], Options(window: 64));
        Assert.AreEqual(direct.Perplexity, viaCatalog.Perplexity, 1e-12);
        Assert.AreEqual(2, viaCatalog.RowNll.Count);

        var empty = ml.Data.LoadFromEnumerable(Array.Empty<Row>());
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() =>
            ml.GenerativeEvaluation().EvaluatePerplexity(empty, _model!, "Text", Options(64))).Message, "empty");
        Assert.ThrowsExactly<ArgumentException>(() => Perplexity.Evaluate(_model!, ["abc"], Options(window: 4, stride: 5)));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() =>
            Perplexity.Evaluate(_model!, ["abc"], new PerplexityOptions { WindowSize = 8 })).Message, "no tokenizer");
    }

    [TestMethod]
    public void PerRowNllColumnMatchesEvaluatorRowNll()
    {
        var ml = new MLContext(seed: 1);
        string[] texts = ["abcabca", "aab", "c"];
        var data = ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t }));
        var scored = ml.GenerativeEvaluation().ScoreTokenNll(_model!, "Nll", "Text", Options(window: 4, stride: 2)).Fit(data).Transform(data);
        var column = scored.GetColumn<float>("Nll").ToArray();
        var metrics = Perplexity.Evaluate(_model!, texts, Options(window: 4, stride: 2));
        Assert.AreEqual((float)metrics.RowNll[0], column[0], 1e-6f);
        Assert.AreEqual((float)metrics.RowNll[1], column[1], 1e-6f);
        Assert.IsTrue(float.IsNaN(column[2]));
        Assert.AreEqual("abcabca", scored.GetColumn<string>("Text").First(), "input columns are kept");
    }

    private sealed class Row
    {
        public string Text { get; set; } = "";
    }
}
