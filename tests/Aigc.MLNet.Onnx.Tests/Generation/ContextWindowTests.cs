using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Generation;

/// <summary>Generation past n_positions with a sliding context window (ContextOverflow.SlideWindow) on a block-16 model.</summary>
[TestClass]
public sealed class ContextWindowTests
{
    private const int Block = 16;
    private const string Text = "First Citizen:\nBefore we proceed any further, hear me speak.\nAll:\nSpeak, speak.\n";

    private static readonly Dictionary<Gpt2OnnxLayout, string> Folders = [];

    /// <summary>A char-level GPT-2 with n_positions 16 and peaked random weights, exported with <paramref name="overflow"/> in generation_config.json.</summary>
    private static string Folder(Gpt2OnnxLayout layout, ContextOverflow? overflow = ContextOverflow.SlideWindow)
    {
        string key = $"{layout}-{overflow}";
        lock (Folders)
        {
            if (Folders.TryGetValue(layout, out var existing) && overflow == ContextOverflow.SlideWindow) return existing;
            // The end-of-text character (U+0003, as the trainers use) sorts first: id 0 is bos = eos, a real vocabulary entry.
            var chars = Gpt2TokenizerFiles.CharacterLevelFromText(Text + "\u0003");
            var config = new Gpt2Config
            {
                NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxPositions = Block, VocabSize = chars.Count(), BosTokenId = 0, EosTokenId = 0,
            };
            string dir = Path.Combine(Path.GetTempPath(), $"aigc-window-tests-{Environment.ProcessId}", key);
            Gpt2Exporter.Export(TinyGpt2Weights(11, config), chars, dir, new Gpt2ExportOptions { Layout = layout, ContextOverflow = overflow });
            if (overflow == ContextOverflow.SlideWindow) Folders[layout] = dir;
            return dir;
        }
    }

    /// <summary>
    /// The reference: no cache, no batch; every step recomputes the logits of the current window from scratch, the window
    /// being cropped by hand to its last n_positions − stride + 1 tokens whenever it outgrows n_positions.
    /// </summary>
    private static List<int> ReferenceGreedy(CausalLM model, int[] prompt, int maxNew, int stride)
    {
        int keep = Block - stride + 1;
        var seq = new List<int>(prompt);
        int start = seq.Count > Block ? seq.Count - keep : 0;
        var generated = new List<int>();
        int v = model.Config.VocabSize;
        for (int i = 0; i < maxNew; i++)
        {
            if (seq.Count - start > Block) start = seq.Count - keep;
            var window = seq.GetRange(start, seq.Count - start);
            float[] logits = model.ComputeLogits(window);
            int best = LogitsPipeline.ArgMax(logits.AsSpan((window.Count - 1) * v, v));
            generated.Add(best);
            seq.Add(best);
        }
        return generated;
    }

    [TestMethod]
    [DataRow(Gpt2OnnxLayout.Optimum, 1)]
    [DataRow(Gpt2OnnxLayout.Optimum, 4)]
    [DataRow(Gpt2OnnxLayout.Optimum, 15)]
    [DataRow(Gpt2OnnxLayout.OnnxRuntimeGpt2, 5)]
    public void Greedy_200Tokens_Block16_EqualsHandCroppedReference_InABatchAndAlone(Gpt2OnnxLayout layout, int stride)
    {
        using var model = CausalLM.Load(Folder(layout));
        var generator = new TextGenerator(model);
        int[][] prompts = [[3, 1, 4], [1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6], [7]];   // the second is longer than the context
        var options = new GenerationOptions { MaxNewTokens = 200, EosTokenIds = [], ContextSlideStride = stride };
        var batch = generator.GenerateTokens(prompts, options);
        for (int p = 0; p < prompts.Length; p++)
        {
            var expected = ReferenceGreedy(model, prompts[p], 200, stride);
            CollectionAssert.AreEqual(expected, batch[p].TokenIds.ToList(), $"prompt {p} in the batch, stride {stride}");
            Assert.AreEqual(FinishReason.Length, batch[p].FinishReason);
            var alone = generator.GenerateTokens(prompts[p], options)[0];
            CollectionAssert.AreEqual(expected, alone.TokenIds.ToList(), $"prompt {p} alone, stride {stride}");
        }
    }

    [TestMethod]
    public void ModelDefault_ComesFromGenerationConfig_AndStopStillCapsAtNPositions()
    {
        using var sliding = CausalLM.Load(Folder(Gpt2OnnxLayout.Optimum));
        Assert.AreEqual(ContextOverflow.SlideWindow, sliding.Config.DefaultContextOverflow);
        StringAssert.Contains(File.ReadAllText(Path.Combine(Folder(Gpt2OnnxLayout.Optimum), "generation_config.json")), "\"context_overflow\": \"slide\"");
        var generator = new TextGenerator(sliding);
        Assert.HasCount(100, generator.GenerateTokens([3, 1, 4], new GenerationOptions { MaxNewTokens = 100, EosTokenIds = [] })[0].TokenIds);
        // Asking for Stop overrides the model's default: 3 prompt tokens + 13 new = n_positions.
        Assert.HasCount(Block - 3, generator.GenerateTokens([3, 1, 4], new GenerationOptions { MaxNewTokens = 100, EosTokenIds = [], ContextOverflow = ContextOverflow.Stop })[0].TokenIds);

        using var plain = CausalLM.Load(Folder(Gpt2OnnxLayout.Optimum, overflow: null));
        Assert.IsNull(plain.Config.DefaultContextOverflow);
        var capped = new TextGenerator(plain).GenerateTokens([3, 1, 4], new GenerationOptions { MaxNewTokens = 100, EosTokenIds = [] })[0];
        Assert.HasCount(Block - 3, capped.TokenIds, "a model without context_overflow stops at n_positions, as in Hugging Face");
        Assert.ThrowsExactly<ArgumentException>(() => new TextGenerator(plain).GenerateTokens(Enumerable.Range(0, 20).Select(i => i % 10).ToArray()));
        var slid = new TextGenerator(plain).GenerateTokens([3, 1, 4], new GenerationOptions { MaxNewTokens = 100, EosTokenIds = [], ContextOverflow = ContextOverflow.SlideWindow })[0];
        CollectionAssert.AreEqual(ReferenceGreedy(plain, [3, 1, 4], 100, Block / 4), slid.TokenIds.ToList(), "the default stride is n_positions / 4");
    }

    [TestMethod]
    public void Sampling_Streaming_StopStrings_AndBeams_KeepWorkingPastTheWindow()
    {
        using var model = CausalLM.Load(Folder(Gpt2OnnxLayout.Optimum));
        var generator = new TextGenerator(model);
        var sampling = new GenerationOptions { DoSample = true, Seed = 5, TopK = 0, MaxNewTokens = 120, EosTokenIds = [], NumReturnSequences = 2, ContextSlideStride = 3 };
        var batch = generator.Generate(["Speak", "All:\n"], sampling);
        Assert.HasCount(4, batch);
        foreach (var s in batch) Assert.HasCount(120, s.TokenIds);
        var again = generator.Generate(["All:\n"], sampling);
        CollectionAssert.AreEqual(batch[2].TokenIds.ToArray(), again[0].TokenIds.ToArray(), "same seed, same row: same tokens in a batch and alone");
        CollectionAssert.AreEqual(batch[3].TokenIds.ToArray(), again[1].TokenIds.ToArray());
        Assert.AreNotEqual(string.Join(",", batch[2].TokenIds), string.Join(",", batch[3].TokenIds), "the two return sequences differ");

        // Streaming: the deltas concatenate to the non-streamed text of the same request, far past 16 characters.
        var single = new GenerationOptions { DoSample = true, Seed = 9, MaxNewTokens = 90, EosTokenIds = [], ContextSlideStride = 2 };
        var full = generator.Generate("First", single)[0];
        Assert.HasCount(90, full.TokenIds);
        string whole = full.Text!;
        var pieces = generator.GenerateStreamingAsync("First", single).ToBlockingEnumerable().ToList();
        Assert.AreEqual(whole, string.Concat(pieces));
        Assert.IsGreaterThan(70, whole.Length);

        // A stop string that first appears after the window slid still ends the sequence there.
        string target = whole.Substring(60, 3);
        int first = whole.IndexOf(target, StringComparison.Ordinal);
        var stopped = generator.Generate("First", new GenerationOptions { DoSample = true, Seed = 9, MaxNewTokens = 90, EosTokenIds = [], ContextSlideStride = 2, StopSequences = [target] })[0];
        Assert.AreEqual(FinishReason.StopSequence, stopped.FinishReason);
        Assert.AreEqual(whole[..first], stopped.Text);

        // Beam search keeps its beams across slides: results are full length, and a prompt's result does not depend on the batch.
        var beams = new GenerationOptions { NumBeams = 3, NumReturnSequences = 2, MaxNewTokens = 40, EosTokenIds = [], ContextSlideStride = 4 };
        var beamBatch = generator.GenerateTokens([[3, 1, 4], [2, 7]], beams);
        Assert.HasCount(4, beamBatch);
        foreach (var s in beamBatch) Assert.HasCount(40, s.TokenIds);
        var beamAlone = generator.GenerateTokens([2, 7], beams);
        CollectionAssert.AreEqual(beamAlone[0].TokenIds.ToArray(), beamBatch[2].TokenIds.ToArray());
    }

    [TestMethod]
    public async Task ContinuousBatching_StopsAtNPositions_EvenForASlidingModel_AndRefusesAnExplicitSlide()
    {
        using var model = CausalLM.Load(Folder(Gpt2OnnxLayout.Optimum));
        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 2 });
        var options = new GenerationOptions { MaxNewTokens = 100, EosTokenIds = [] };
        Assert.AreEqual(SubmitStatus.Accepted, scheduler.TrySubmit([3, 1, 4], options, out var generation));
        var result = (await generation!.Completion.WaitAsync(TimeSpan.FromMinutes(1)))[0];
        Assert.HasCount(Block - 3, result.TokenIds, "served rows share one cache and stop at n_positions");
        var expected = new TextGenerator(model).GenerateTokens([3, 1, 4], new GenerationOptions { MaxNewTokens = 100, EosTokenIds = [], ContextOverflow = ContextOverflow.Stop })[0];
        CollectionAssert.AreEqual(expected.TokenIds.ToArray(), result.TokenIds.ToArray());
        var e = Assert.ThrowsExactly<ArgumentException>(() => scheduler.TrySubmit([3], new GenerationOptions { ContextOverflow = ContextOverflow.SlideWindow }, out _));
        StringAssert.Contains(e.Message, "SlideWindow is only available through TextGenerator");
    }

    [TestMethod]
    public void StrideAtOrAboveNPositions_IsRejected_NamingTheOption()
    {
        using var model = CausalLM.Load(Folder(Gpt2OnnxLayout.Optimum));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TextGenerator(model).GenerateTokens([3], new GenerationOptions { ContextSlideStride = Block }));
        StringAssert.Contains(e.Message, "ContextSlideStride is 16; it must be below the model's n_positions (16)");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GenerationOptions { ContextSlideStride = 0 }.Validate());
        var fromConfig = GenerationOptions.FromGenerationConfig(new MemoryStream("""{ "context_overflow": "slide", "context_slide_stride": 3 }"""u8.ToArray()));
        Assert.AreEqual(ContextOverflow.SlideWindow, fromConfig.ContextOverflow);
        Assert.AreEqual(3, fromConfig.ContextSlideStride);
        Assert.ThrowsExactly<InvalidDataException>(() => GenerationOptions.FromGenerationConfig(new MemoryStream("""{ "context_overflow": "wrap" }"""u8.ToArray())));
    }
}
