using System.Text.Json;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Testing;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Text;

[TestClass]
public sealed class GenerateTextTests
{
    private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 8 };
    private static readonly GenerationOptions Sampling = new() { MaxNewTokens = 8, DoSample = true, TopK = 10, Temperature = 0.8, Seed = 3 };

    private static IDataView Prompts(MLContext ml, IEnumerable<string?> prompts)
        => ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptRow { Prompt = p }).ToArray());

    private static string[] Column(IDataView data, string name)
        => data.GetColumn<string>(name).ToArray();

    private static string[] Direct(string model, IReadOnlyList<string> prompts, GenerationOptions options)
    {
        using var lm = CausalLM.Load(model);
        var generator = new TextGenerator(lm);
        return prompts.Select(p => generator.Generate(p, options)[0].Text ?? "").ToArray();
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(8)]
    public void CompletionsEqualDirectEngineCalls(int batchSize)
    {
        var ml = new MLContext(seed: 1);
        string[] prompts = TextModels.Prompts(64);
        foreach (var options in new[] { Greedy, Sampling })
        {
            string[] expected = Direct(TextModels.CharModel, prompts, options);
            var data = Prompts(ml, prompts);
            var model = ml.Transforms.GenerateText("Completion", "Prompt", TextModels.CharModel, options, batchSize).Fit(data);
            var output = model.Transform(data);
            Assert.AreEqual(64L, output.GetRowCount());
            CollectionAssert.AreEqual(expected, Column(output, "Completion"), $"batch {batchSize}, sampling {options.DoSample}");
            CollectionAssert.AreEqual(prompts, Column(output, "Prompt"), "the prompt column passes through in order");
            Assert.IsTrue(expected.Any(e => e.Length > 0), "the random model generates text");
        }
    }

    [TestMethod]
    public void PredictionEnginesGiveTheSameCompletionsFromEightThreads()
    {
        var ml = new MLContext(seed: 1);
        string[] prompts = TextModels.Prompts(24);
        var model = ml.Transforms.GenerateText("Completion", "Prompt", TextModels.CharModel, Sampling).Fit(Prompts(ml, prompts));
        string[] serial = Column(model.Transform(Prompts(ml, prompts)), "Completion");
        using (var engine = ml.Model.CreatePredictionEngine<PromptRow, CompletionRow>(model))
            Assert.AreEqual(serial[5], engine.Predict(new PromptRow { Prompt = prompts[5] }).Completion);

        var parallel = new string[prompts.Length];
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            using var engine = ml.Model.CreatePredictionEngine<PromptRow, CompletionRow>(model);
            for (int i = t; i < prompts.Length; i += 8)
                parallel[i] = engine.Predict(new PromptRow { Prompt = prompts[i] }).Completion;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        CollectionAssert.AreEqual(serial, parallel);
    }

    [TestMethod]
    public void SavedPipelineGivesTheSameOutputsInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        string[] prompts = TextModels.Prompts(6);
        var options = new GenerateTextOptions
        {
            ModelPath = TextModels.CharModel, Generation = Sampling, BatchSize = 4,
            TokenIdsColumnName = "Ids", FinishReasonColumnName = "Reason", ScoreColumnName = "Score",
        };
        var data = Prompts(ml, prompts);
        var model = ml.Transforms.GenerateText(options).Fit(data);
        string zip = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N") + ".zip");
        Directory.CreateDirectory(Path.GetDirectoryName(zip)!);
        ml.Model.Save(model, data.Schema, zip);

        string[] columns = ["Prompt", "Completion", "Ids", "Reason", "Score"];
        string inProcess = PipelineJson.Dump(model.Transform(data), columns);
        string fresh = PipelineJson.RunInFreshProcess(zip, new Dictionary<string, string?[]> { ["Prompt"] = prompts }, columns);
        Assert.AreEqual(inProcess, fresh);
        var rows = JsonSerializer.Deserialize<JsonElement[][]>(fresh)!;
        Assert.AreEqual(6, rows.Length);
        Assert.IsTrue(rows.All(r => r[3].GetString() is "eos" or "length"));
    }

    [TestMethod]
    public void ExtraColumnsCarryIdsReasonScoreAndReturnSequences()
    {
        var ml = new MLContext(seed: 1);
        string[] prompts = TextModels.Prompts(3);
        var options = new GenerateTextOptions
        {
            ModelPath = TextModels.CharModel, Generation = new GenerationOptions { MaxNewTokens = 6, NumBeams = 3, NumReturnSequences = 2 },
            TokenIdsColumnName = "Ids", FinishReasonColumnName = "Reason", ScoreColumnName = "Score", BatchSize = 2,
        };
        var data = Prompts(ml, prompts);
        var output = ml.Transforms.GenerateText(options).Fit(data).Transform(data);
        Assert.IsInstanceOfType<VectorDataViewType>(output.Schema["Completion"].Type);

        using var lm = CausalLM.Load(TextModels.CharModel);
        var expected = new TextGenerator(lm).Generate(prompts[1], options.Generation);
        var row = output.GetColumn<string[]>("Completion").ElementAt(1);
        CollectionAssert.AreEqual(expected.Select(s => s.Text).ToArray(), row);
        CollectionAssert.AreEqual(expected[0].TokenIds.ToArray(), output.GetColumn<int[]>("Ids").ElementAt(1));
        Assert.AreEqual((float)expected[0].Score!.Value, output.GetColumn<float>("Score").ElementAt(1));
        Assert.AreEqual(expected[0].FinishReason == FinishReason.Length ? "length" : "eos", output.GetColumn<string>("Reason").ElementAt(1));
    }

    [TestMethod]
    public void EstimatorAndTransformerSchemasAgree()
    {
        var ml = new MLContext(seed: 1);
        var data = Prompts(ml, ["a"]);
        var estimator = ml.Transforms.GenerateText(new GenerateTextOptions { ModelPath = TextModels.CharModel, TokenIdsColumnName = "Ids", BatchSize = 4 });
        var shape = estimator.GetOutputSchema(SchemaShapes.Of<PromptRow>(ml));
        var transformer = estimator.Fit(data);
        var schema = transformer.GetOutputSchema(data.Schema);
        var viewSchema = transformer.Transform(data).Schema;
        CollectionAssert.AreEqual(new[] { "Prompt", "Completion", "Ids" }, schema.Select(c => c.Name).ToArray());
        CollectionAssert.AreEqual(schema.Select(c => c.Name).ToArray(), shape.Select(c => c.Name).ToArray());
        CollectionAssert.AreEqual(schema.Select(c => c.Name).ToArray(), viewSchema.Select(c => c.Name).ToArray());
        for (int i = 0; i < schema.Count; i++)
            Assert.AreEqual(schema[i].Type, viewSchema[i].Type, schema[i].Name);
        Assert.AreEqual(TextDataViewType.Instance, schema["Completion"].Type);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Int32), schema["Ids"].Type);
    }

    [TestMethod]
    public void WrongOrMissingPromptColumnFailsNamingIt()
    {
        var ml = new MLContext(seed: 1);
        var numbers = ml.Data.LoadFromEnumerable(new[] { new NumberRow { Prompt = 1 } });
        var estimator = ml.Transforms.GenerateText("Completion", "Prompt", TextModels.CharModel);
        var wrong = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(numbers));
        StringAssert.Contains(wrong.Message, "'Prompt'");
        StringAssert.Contains(wrong.Message, "String");
        StringAssert.Contains(wrong.Message, "Single");
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.GenerateText("Completion", "Text", TextModels.CharModel).Fit(numbers));
        StringAssert.Contains(missing.Message, "'Text' was not found");
        var shape = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(SchemaShapes.Of<NumberRow>(ml)));
        StringAssert.Contains(shape.Message, "'Prompt'");
    }

    [TestMethod]
    public void EmptyAndMissingPromptsStartFromBos()
    {
        var ml = new MLContext(seed: 1);
        using var lm = CausalLM.Load(TextModels.CharModel);
        string expected = new TextGenerator(lm).Generate("", Greedy)[0].Text!;
        var data = Prompts(ml, ["", null]);
        var output = ml.Transforms.GenerateText("Completion", "Prompt", TextModels.CharModel, Greedy).Fit(data).Transform(data);
        CollectionAssert.AreEqual(new[] { expected, expected }, Column(output, "Completion"));
    }

    [TestMethod]
    public void LongPromptsFailOrTruncateLeftAsAsked()
    {
        var ml = new MLContext(seed: 1);
        string longPrompt = TextModels.Corpus[..60];   // 60 chars > context 48 - 8 new tokens
        var data = Prompts(ml, ["short", longPrompt]);
        var strict = ml.Transforms.GenerateText(new GenerateTextOptions { ModelPath = TextModels.CharModel, Generation = Greedy, BatchSize = 2 }).Fit(data);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => Column(strict.Transform(data), "Completion"));
        StringAssert.Contains(ex.Message, "row 1");
        StringAssert.Contains(ex.Message, "'Prompt'");
        StringAssert.Contains(ex.Message, "60 tokens");
        StringAssert.Contains(ex.Message, "context of 48");

        var truncating = ml.Transforms.GenerateText(new GenerateTextOptions
        {
            ModelPath = TextModels.CharModel, Generation = Greedy, PromptOverflow = PromptOverflow.TruncateLeft,
        }).Fit(data);
        string[] got = Column(truncating.Transform(data), "Completion");
        using var lm = CausalLM.Load(TextModels.CharModel);
        Assert.AreEqual(new TextGenerator(lm).Generate(longPrompt[^40..], Greedy)[0].Text, got[1]);
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(4)]
    public void RowErrorsArriveWithTheirOwnMessageNamingRowAndColumn(int batchSize)
    {
        var ml = new MLContext(seed: 1);
        string tooLong = TextModels.Corpus[..60];                     // 60 characters > context 48 - 8 new tokens
        string unknown = "ROMEO: \u2603";                             // a snowman: not in the character vocabulary
        var model = ml.Transforms.GenerateText(new GenerateTextOptions { ModelPath = TextModels.CharModel, Generation = Greedy, BatchSize = batchSize })
            .Fit(Prompts(ml, ["a"]));
        foreach (var (rows, row, expected) in new[]
        {
            (new[] { "First", "Second", tooLong, "Fourth" }, 2, "has 60 tokens; with 8 new tokens it exceeds the model's context of 48 tokens"),
            (new[] { "First", unknown, "Third" }, 1, "cannot be tokenized by the model's vocabulary"),
        })
        {
            var output = model.Transform(Prompts(ml, rows));
            var viaGetColumn = Assert.ThrowsExactly<ArgumentException>(() => output.GetColumn<string>("Completion").ToArray());
            var viaEnumerable = Assert.ThrowsExactly<ArgumentException>(() => ml.Data.CreateEnumerable<CompletionRow>(output, reuseRowObject: false).ToArray());
            var viaCursor = Assert.ThrowsExactly<ArgumentException>(() =>
            {
                using var cursor = output.GetRowCursor(output.Schema);
                var getter = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Completion"]);
                ReadOnlyMemory<char> value = default;
                while (cursor.MoveNext())
                    getter(ref value);
            });
            foreach (var e in new[] { viaGetColumn, viaEnumerable, viaCursor })
            {
                StringAssert.Contains(e.Message, $"GenerateText: the prompt in row {row} of column 'Prompt'");
                StringAssert.Contains(e.Message, expected);
            }
            if (row == 1)
                StringAssert.Contains(viaCursor.Message, "\u2603");
        }
    }

    [TestMethod]
    public void MissingFolderAndCorruptModelFailNamingThePath()
    {
        var ml = new MLContext(seed: 1);
        var missing = Assert.ThrowsExactly<DirectoryNotFoundException>(() => ml.Transforms.GenerateText("C", "P", "/nonexistent/model"));
        StringAssert.Contains(missing.Message, "/nonexistent/model");

        string corrupt = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));
        CopyFolder(TextModels.CharModel, corrupt);
        string onnx = Path.Combine(corrupt, "onnx", "model.onnx");
        File.WriteAllBytes(onnx, File.ReadAllBytes(onnx)[..200]);
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => ml.Transforms.GenerateText("C", "P", corrupt));
        StringAssert.Contains(ex.Message, onnx);
    }

    [TestMethod]
    public void ChangedModelFileIsDetectedWhenASavedPipelineLoads()
    {
        var ml = new MLContext(seed: 1);
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));
        CopyFolder(TextModels.CharModel, folder);
        var data = Prompts(ml, ["First"]);
        var model = ml.Transforms.GenerateText("Completion", "Prompt", folder, Greedy).Fit(data);
        string zip = folder + ".zip";
        ml.Model.Save(model, data.Schema, zip);
        File.AppendAllText(Path.Combine(folder, "onnx", "model.onnx"), " ");
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => PipelineJson.RunInFreshProcess(zip, new Dictionary<string, string?[]> { ["Prompt"] = ["First"] }, ["Completion"]));
        StringAssert.Contains(ex.Message, "GenerateText: model file 'onnx/model.onnx'");
        StringAssert.Contains(ex.Message, "changed since this pipeline was built");
    }

    [TestMethod]
    public void BadOptionsFailUpFront()
    {
        var ml = new MLContext(seed: 1);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.GenerateText("C", "P", TextModels.CharModel, batchSize: 0));
        var temperature = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Transforms.GenerateText("C", "P", TextModels.CharModel, new GenerationOptions { DoSample = true, Temperature = 0 }));
        StringAssert.Contains(temperature.Message, "Temperature");
    }

    internal static void CopyFolder(string from, string to)
    {
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public sealed class PromptRow
    {
        public string? Prompt { get; set; }
    }

    public sealed class CompletionRow
    {
        public string Completion { get; set; } = "";
    }

    public sealed class NumberRow
    {
        public float Prompt { get; set; }
    }
}
