using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Generation;

[TestClass]
public sealed class ContinuousBatchSchedulerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>A processor that changes nothing but can hold the scheduler's loop at a chosen step (it runs on that thread).</summary>
    private sealed class Gate(int holdAtCall) : ILogitsProcessor
    {
        private int _calls;
        public readonly ManualResetEventSlim Reached = new(false);
        public readonly ManualResetEventSlim Release = new(false);

        public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
        {
            if (++_calls != holdAtCall) return;
            Reached.Set();
            if (!Release.Wait(Wait)) throw new TimeoutException("The test never released the gate.");
        }
    }

    private static string Render(IReadOnlyList<GeneratedSequence> results) =>
        string.Join(" | ", results.Select(r => $"{string.Join(",", r.TokenIds)}:{r.FinishReason}"));

    private static (int[] Prompt, GenerationOptions Options, Func<ILogitsProcessor>? Extra)[] MixedJobs() =>
    [
        ([3, 14, 15], new GenerationOptions { MaxNewTokens = 12 }, null),
        ([92], new GenerationOptions { MaxNewTokens = 30, DoSample = true, Seed = 5 }, null),
        ([65, 35, 89, 79, 32, 38], new GenerationOptions { MaxNewTokens = 5, DoSample = true, TopP = 0.8, TopK = 0, Temperature = 0.7, Seed = 11, NumReturnSequences = 3 }, null),
        ([7, 7, 7, 7, 7, 7, 7, 7, 7], new GenerationOptions { MaxNewTokens = 20, RepetitionPenalty = 1.3, NoRepeatNgramSize = 2 }, null),
        ([40, 41], new GenerationOptions { MaxNewTokens = 17, MinNewTokens = 10, DoSample = true, Seed = 2, NumReturnSequences = 2 }, null),
        ([1, 2, 3, 4], new GenerationOptions { MaxNewTokens = 25, DoSample = true, Seed = 99 }, () => new FrequencyPresencePenaltyLogitsProcessor(1.5, 0.5)),
        ([50], new GenerationOptions { MaxNewTokens = 2 }, null),
        ([60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71], new GenerationOptions { MaxNewTokens = 40, DoSample = true, Seed = 3, TopK = 5 }, null),
        ([8], new GenerationOptions { MaxLength = 30, DoSample = true, Seed = 4, OutputScores = true }, null),
        ([20, 30], new GenerationOptions { MaxNewTokens = 9, BadWordsIds = [[5], [6, 7]] }, null),
    ];

    [TestMethod]
    [DataRow(Gpt2OnnxLayout.Optimum, false)]
    [DataRow(Gpt2OnnxLayout.OptimumMergedLegacy, false)]
    [DataRow(Gpt2OnnxLayout.OnnxRuntimeGpt2, true)]
    public async Task RequestsJoiningAndLeavingTheBatch_EqualEachRequestRunAlone(Gpt2OnnxLayout layout, bool int32Inputs)
    {
        using var model = CausalLM.Load(Gpt2Folder(layout, int32Inputs), new CausalLMOptions { IntraOpNumThreads = 1 });
        var generator = new TextGenerator(model);
        var jobs = MixedJobs();
        var expected = jobs.Select(j => Render(new TextGenerator(model) { LogitsProcessors = j.Extra is null ? [] : [j.Extra] }
            .GenerateTokens(j.Prompt, j.Options))).ToArray();

        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 4, MaxQueueLength = 64 });
        // The first request holds the loop at its third step while every other request is queued behind it, so they
        // join a batch that is already running, and leave it at different steps.
        var gate = new Gate(3);
        var first = scheduler.Submit(jobs[0].Prompt, jobs[0].Options, [() => gate]);
        Assert.IsTrue(gate.Reached.Wait(Wait));
        var rest = jobs.Skip(1).Select(j => scheduler.Submit(j.Prompt, j.Options, j.Extra is null ? null : [j.Extra])).ToList();
        Assert.AreEqual(rest.Count, scheduler.QueueLength);
        gate.Release.Set();
        var all = new[] { first }.Concat(rest).ToArray();
        for (int i = 0; i < all.Length; i++)
            Assert.AreEqual(expected[i], Render(await all[i].Completion.WaitAsync(Wait)), $"request {i}");

        // The requests shared decode steps (alone, each needs one step per token after its first) and never exceeded 4 rows.
        long aloneSteps = all.Sum(g => g.Completion.Result.Max(s => s.TokenIds.Count) - 1);
        Assert.IsTrue(scheduler.DecodeSteps < aloneSteps, $"{scheduler.DecodeSteps} steps vs {aloneSteps} alone");
        Assert.IsTrue(scheduler.RowSteps > scheduler.DecodeSteps, $"mean batch {(double)scheduler.RowSteps / scheduler.DecodeSteps:F2}");
        Assert.IsTrue(scheduler.RowSteps <= 4 * scheduler.DecodeSteps);
        Assert.AreEqual(0, scheduler.QueueLength);
        await WaitUntil(() => scheduler.ActiveRows == 0);
        Assert.AreEqual((10L, 0L, 0L), scheduler.RequestCounts);
        Assert.AreEqual(all.Sum(g => g.Completion.Result.Sum(s => s.TokenIds.Count)), scheduler.GeneratedTokens);
    }

    [TestMethod]
    public async Task SeededSampling_DoesNotDependOnWhatElseIsInTheBatch()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum), new CausalLMOptions { IntraOpNumThreads = 1 });
        var options = new GenerationOptions { MaxNewTokens = 20, DoSample = true, Seed = 1234, NumReturnSequences = 2 };
        int[] prompt = [10, 20, 30];
        string alone = Render(new TextGenerator(model).GenerateTokens(prompt, options));
        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 8 });
        for (int round = 0; round < 3; round++)
        {
            // Different company each round: other prompts, lengths and seeds around the same request.
            var others = Enumerable.Range(0, 2 + round).Select(i => scheduler.Submit(
                Enumerable.Range(0, 1 + (i * 5 + round) % 11).Select(t => (t * 13 + i + round) % Gpt2Vocab).ToArray(),
                new GenerationOptions { MaxNewTokens = 5 + 7 * i, DoSample = true, Seed = round * 10 + i })).ToList();
            var mine = scheduler.Submit(prompt, options);
            Assert.AreEqual(alone, Render(await mine.Completion.WaitAsync(Wait)), $"round {round}");
            await Task.WhenAll(others.Select(o => o.Completion)).WaitAsync(Wait);
        }
    }

    [TestMethod]
    public async Task CancellingARunningRequest_FreesItsRows_AndTheOthersAreUnaffected()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum), new CausalLMOptions { IntraOpNumThreads = 1 });
        var keep = new GenerationOptions { MaxNewTokens = 30, DoSample = true, Seed = 8 };
        int[] keepPrompt = [4, 5, 6];
        string expected = Render(new TextGenerator(model).GenerateTokens(keepPrompt, keep));

        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 4 });
        using var cts = new CancellationTokenSource();
        var gate = new Gate(3 + 3 * 5); // three rows: the prefill's three calls, then three per step; hold at step 5
        var doomed = scheduler.Submit([9, 9], new GenerationOptions { MaxNewTokens = 50, NumReturnSequences = 3, DoSample = true, Seed = 1 }, [() => gate], cts.Token);
        var kept = scheduler.Submit(keepPrompt, keep);
        Assert.IsTrue(gate.Reached.Wait(Wait));
        Assert.IsTrue(scheduler.ActiveRows >= 3);
        cts.Cancel();
        gate.Release.Set();
        await Assert.ThrowsAsync<TaskCanceledException>(() => doomed.Completion.WaitAsync(Wait));
        await Assert.ThrowsAsync<OperationCanceledException>(async () => { await foreach (var _ in doomed.Deltas.ReadAllAsync()) { } });
        Assert.AreEqual(expected, Render(await kept.Completion.WaitAsync(Wait)));
        await WaitUntil(() => scheduler.ActiveRows == 0);
        Assert.AreEqual((1L, 1L, 0L), scheduler.RequestCounts);
        // The three freed rows take new work at once.
        var after = scheduler.Submit(keepPrompt, keep);
        Assert.AreEqual(expected, Render(await after.Completion.WaitAsync(Wait)));
    }

    [TestMethod]
    public async Task CancellingAQueuedRequest_RemovesItFromTheQueue()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum), new CausalLMOptions { IntraOpNumThreads = 1 });
        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 1, MaxQueueLength = 2 });
        var gate = new Gate(2);
        var running = scheduler.Submit([1, 2], new GenerationOptions { MaxNewTokens = 6 }, [() => gate]);
        Assert.IsTrue(gate.Reached.Wait(Wait));
        using var cts = new CancellationTokenSource();
        var queued = scheduler.Submit([3], new GenerationOptions { MaxNewTokens = 6 }, null, cts.Token);
        Assert.AreEqual(1, scheduler.QueueLength);
        cts.Cancel();
        Assert.AreEqual(0, scheduler.QueueLength);
        await Assert.ThrowsAsync<TaskCanceledException>(() => queued.Completion.WaitAsync(Wait));
        gate.Release.Set();
        Assert.AreEqual(6, (await running.Completion.WaitAsync(Wait))[0].TokenIds.Count);
    }

    [TestMethod]
    public async Task AFullQueue_RefusesNewRequests_UntilRowsFreeUp()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum), new CausalLMOptions { IntraOpNumThreads = 1 });
        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 1, MaxQueueLength = 1 });
        var gate = new Gate(2);
        var options = new GenerationOptions { MaxNewTokens = 4 };
        var running = scheduler.Submit([1], options, [() => gate]);
        Assert.IsTrue(gate.Reached.Wait(Wait));
        Assert.AreEqual(SubmitStatus.Accepted, scheduler.TrySubmit([2], options, out var queued));
        Assert.AreEqual(SubmitStatus.QueueFull, scheduler.TrySubmit([3], options, out var refused));
        Assert.IsNull(refused);
        var e = Assert.Throws<InvalidOperationException>(() => scheduler.Submit([3], options));
        StringAssert.Contains(e.Message, "queue is full (1 requests are waiting)");
        gate.Release.Set();
        await running.Completion.WaitAsync(Wait);
        Assert.AreEqual(Render(new TextGenerator(model).GenerateTokens([2], options)), Render(await queued!.Completion.WaitAsync(Wait)));
        Assert.AreEqual(SubmitStatus.Accepted, scheduler.TrySubmit([3], options, out var later));
        await later!.Completion.WaitAsync(Wait);
    }

    [TestMethod]
    public async Task Drain_FinishesWhatWasAccepted_AndRefusesNewRequests()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum), new CausalLMOptions { IntraOpNumThreads = 1 });
        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 2 });
        var gate = new Gate(2);
        var accepted = Enumerable.Range(0, 5).Select(i => scheduler.Submit([i + 1], new GenerationOptions { MaxNewTokens = 10 }, i == 0 ? [() => gate] : null)).ToList();
        Assert.IsTrue(gate.Reached.Wait(Wait));
        var drained = scheduler.DrainAsync();
        Assert.IsFalse(scheduler.IsAcceptingRequests);
        Assert.AreEqual(SubmitStatus.NotAccepting, scheduler.TrySubmit([1], null, out _));
        Assert.IsFalse(drained.IsCompleted);
        gate.Release.Set();
        await drained.WaitAsync(Wait);
        foreach (var g in accepted) Assert.AreEqual(10, g.Completion.Result[0].TokenIds.Count);
    }

    [TestMethod]
    public async Task Dispose_EndsQueuedAndRunningRequests()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum), new CausalLMOptions { IntraOpNumThreads = 1 });
        var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 1 });
        var gate = new Gate(2);
        var running = scheduler.Submit([1], new GenerationOptions { MaxNewTokens = 30 }, [() => gate]);
        Assert.IsTrue(gate.Reached.Wait(Wait));
        var queued = scheduler.Submit([2], new GenerationOptions { MaxNewTokens = 30 });
        var disposing = Task.Run(scheduler.Dispose);
        gate.Release.Set();
        await disposing.WaitAsync(Wait);
        await Assert.ThrowsAsync<OperationCanceledException>(() => running.Completion.WaitAsync(Wait));
        await Assert.ThrowsAsync<OperationCanceledException>(() => queued.Completion.WaitAsync(Wait));
        Assert.Throws<ObjectDisposedException>(() => scheduler.Submit([1]));
    }

    private sealed class Throwing(int atCall) : ILogitsProcessor
    {
        private int _calls;

        public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
        {
            if (++_calls == atCall) throw new InvalidOperationException("processor failed on purpose");
        }
    }

    [TestMethod]
    public async Task AFailingLogitsProcessor_FailsOnlyItsOwnRequest()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum), new CausalLMOptions { IntraOpNumThreads = 1 });
        var options = new GenerationOptions { MaxNewTokens = 10 };
        string expected = Render(new TextGenerator(model).GenerateTokens([1, 2, 3], options));
        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 4 });
        var good = scheduler.Submit([1, 2, 3], options);
        var bad = scheduler.Submit([4, 5], options, [() => new Throwing(4)]);
        var failedInPrefill = scheduler.Submit([6], options, [() => new Throwing(1)]);
        Assert.AreEqual("processor failed on purpose", (await Assert.ThrowsAsync<InvalidOperationException>(() => bad.Completion.WaitAsync(Wait))).Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => failedInPrefill.Completion.WaitAsync(Wait));
        Assert.AreEqual(expected, Render(await good.Completion.WaitAsync(Wait)));
        Assert.AreEqual(expected, Render(await scheduler.Submit([1, 2, 3], options).Completion.WaitAsync(Wait)), "the loop keeps serving");
        await WaitUntil(() => scheduler.ActiveRows == 0);
        Assert.AreEqual((2L, 0L, 2L), scheduler.RequestCounts);
    }

    [TestMethod]
    public void BadRequests_FailOnTheCallersThread_NamingTheProblem()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum), new CausalLMOptions { IntraOpNumThreads = 1 });
        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 2 });
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => scheduler.Submit([1], new GenerationOptions { NumBeams = 2 })).Message, "NumBeams must be 1");
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => scheduler.Submit([1], new GenerationOptions { DoSample = true, NumReturnSequences = 3 })).Message,
            "NumReturnSequences is 3 but the batch holds at most 2 rows");
        StringAssert.Contains(Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.Submit([Gpt2Vocab + 1])).Message, "outside the vocabulary");
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => scheduler.Submit(Enumerable.Repeat(1, 64).ToArray())).Message, "at most 64 positions");
        StringAssert.Contains(Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.Submit([1], new GenerationOptions { TopP = 0 })).Message, "TopP");
        StringAssert.Contains(Assert.Throws<ArgumentOutOfRangeException>(() => new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 0 })).Message, "MaxBatchSize");
    }

    [TestMethod]
    public void AModelWithoutACache_IsRefusedWithTheReason()
    {
        string folder = ScriptFolder("scheduler-nocache", [1, 2, 3, 4, 5], 50257, 50256);
        using var model = CausalLM.Load(folder);
        var e = Assert.Throws<NotSupportedException>(() => new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 1 }));
        StringAssert.Contains(e.Message, "no key/value cache");
    }

    [TestMethod]
    public async Task TextStopSequencesAndDeltas_MatchTheGeneratorAlone()
    {
        string folder = BpeFolder();
        using var model = CausalLM.Load(folder, new CausalLMOptions { IntraOpNumThreads = 1 });
        var generator = new TextGenerator(model);
        string prompt = "The quick brown fox";
        var free = new GenerationOptions { MaxNewTokens = 24, DoSample = true, Seed = 21 };
        string text = generator.Generate(prompt, free)[0].Text!;
        Assert.IsTrue(text.Length >= 6, text);
        // A stop string taken from the middle of the free text must cut the batched text where it cuts the text alone.
        string stop = text.Substring(text.Length / 2, 2);
        var stopped = free.Clone();
        stopped.StopSequences = [stop];
        stopped.NumReturnSequences = 2;
        var expected = generator.Generate(prompt, stopped);
        Assert.AreEqual(FinishReason.StopSequence, expected[0].FinishReason);

        using var scheduler = new ContinuousBatchScheduler(model, new ContinuousBatchOptions { MaxBatchSize = 4 });
        var noise = scheduler.Submit("Some other prompt, longer than the first one", new GenerationOptions { MaxNewTokens = 30, DoSample = true, Seed = 3 });
        var run = scheduler.Submit(prompt, stopped);
        var streamed = new System.Text.StringBuilder[2] { new(), new() };
        var reasons = new FinishReason?[2];
        await foreach (var delta in run.Deltas.ReadAllAsync())
        {
            Assert.IsNull(reasons[delta.SequenceIndex], "no delta after a sequence's last one");
            streamed[delta.SequenceIndex].Append(delta.Text);
            reasons[delta.SequenceIndex] = delta.FinishReason;
        }
        var results = await run.Completion.WaitAsync(Wait);
        for (int j = 0; j < 2; j++)
        {
            Assert.AreEqual(expected[j].Text, results[j].Text, $"sequence {j}");
            Assert.AreEqual(expected[j].Text, streamed[j].ToString(), $"sequence {j} streamed");
            CollectionAssert.AreEqual(expected[j].TokenIds.ToList(), results[j].TokenIds.ToList());
            Assert.AreEqual(expected[j].FinishReason, reasons[j]);
        }
        Assert.AreEqual(model.Tokenizer!.EncodeToIds(prompt).Count, run.PromptTokenIds.Count);
        Assert.IsNotNull(run.TimeToFirstToken);
        await noise.Completion.WaitAsync(Wait);
    }

    [TestMethod]
    public void FrequencyAndPresencePenalties_CountGeneratedTokensOnly()
    {
        var p = new FrequencyPresencePenaltyLogitsProcessor(0.5, 1.0);
        float[] scores = [10, 10, 10, 10];
        // Prompt [1, 1], generated [2, 3, 2].
        p.Process([1, 1, 2, 3, 2], 2, scores);
        CollectionAssert.AreEqual(new float[] { 10, 10, 10 - 2 * 0.5f - 1, 10 - 0.5f - 1 }, scores);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrequencyPresencePenaltyLogitsProcessor(2.5, 0));
    }

    private static string BpeFolder()
    {
        string dir = TempDir("scheduler-bpe");
        string gpt2 = Path.Combine(DataDir(), "gpt2");
        var config = new Gpt2Config { NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 128, InitializerRange = 0.4f };
        Gpt2Exporter.Export(Gpt2Weights.Random(config, 5), Gpt2TokenizerFiles.Bpe(Path.Combine(gpt2, "vocab.json"), Path.Combine(gpt2, "merges.txt")), dir);
        return dir;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("The condition did not become true in time.");
            await Task.Delay(5);
        }
    }
}
