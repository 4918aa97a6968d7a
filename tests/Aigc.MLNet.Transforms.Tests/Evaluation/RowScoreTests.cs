using Aigc.MLNet.Transforms.Evaluation;
using Aigc.MLNet.Transforms.Evaluation.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Evaluation;

[TestClass]
public sealed class RowScoreTests
{
    private sealed class ScalarRow
    {
        public string Hyp { get; set; } = "";
        public string Ref { get; set; } = "";
    }

    private sealed class VariableRow
    {
        public string Hyp { get; set; } = "";
        public string[] Refs { get; set; } = [];
    }

    private sealed class FixedRow
    {
        public string Hyp { get; set; } = "";
        [VectorType(2)]
        public string[] Refs { get; set; } = [];
    }

    private static readonly MLContext Ml = new(seed: 1);

    private static float[] Scores(IDataView data, string column) =>
        data.GetColumn<float>(column).ToArray();

    [TestMethod]
    public void SentenceBleuColumnMatchesSentenceScoreForScalarAndVectorReferences()
    {
        string[] hyps = ["the cat is on the mat", "a b c", ""];
        string[][] refs = [["there is a cat on the mat", "the cat sat"], ["a b c d", "a b"], ["x", "y"]];
        var expected = hyps.Select((h, i) => (float)BleuMetric.Sentence(h, refs[i]).Score).ToArray();

        var variable = Ml.Data.LoadFromEnumerable(hyps.Select((h, i) => new VariableRow { Hyp = h, Refs = refs[i] }));
        var est = Ml.GenerativeEvaluation().ScoreSentenceBleu("Bleu", "Hyp", "Refs");
        var scored = est.Fit(variable).Transform(variable);
        CollectionAssert.AreEqual(expected, Scores(scored, "Bleu"));
        Assert.IsNull(scored.Schema.GetColumnOrNull("__AigcEvalScore"), "temporaries are dropped");

        var fixedSize = Ml.Data.LoadFromEnumerable(hyps.Select((h, i) => new FixedRow { Hyp = h, Refs = refs[i] }));
        CollectionAssert.AreEqual(expected, Scores(Ml.GenerativeEvaluation().ScoreSentenceBleu("Bleu", "Hyp", "Refs").Fit(fixedSize).Transform(fixedSize), "Bleu"));

        var scalar = Ml.Data.LoadFromEnumerable(hyps.Select((h, i) => new ScalarRow { Hyp = h, Ref = refs[i][0] }));
        var single = hyps.Select((h, i) => (float)BleuMetric.Sentence(h, [refs[i][0]]).Score).ToArray();
        CollectionAssert.AreEqual(single, Scores(Ml.GenerativeEvaluation().ScoreSentenceBleu("Bleu", "Hyp", "Ref").Fit(scalar).Transform(scalar), "Bleu"));
    }

    [TestMethod]
    public void RowScoreEstimatorRejectsMissingAndWrongColumns()
    {
        var data = Ml.Data.LoadFromEnumerable(new[] { new { Hyp = "a", Ref = 1f } });
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            Ml.GenerativeEvaluation().ScoreSentenceBleu("Bleu", "Nope", "Ref").Fit(data));
        StringAssert.Contains(missing.Message, "Column 'Nope' not found");
        var wrong = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            Ml.GenerativeEvaluation().ScoreSentenceBleu("Bleu", "Hyp", "Ref").Fit(data));
        StringAssert.Contains(wrong.Message, "must be Text or a vector of Text, found Single");
    }
}
