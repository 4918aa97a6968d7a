using System.Text;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.Tokenizers;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Generation;

[TestClass]
public sealed class TextGenerationTests
{
    private const int Vocab = 50257;
    private const int Eos = 50256;
    private const string ScriptText = "Hello world, this is a test of 😀 emoji and 中文字符 text 🎉 ok";

    private static readonly Lazy<Tokenizer> Gpt2 = new(() =>
        Gpt2Tokenizer.Create(Path.Combine(DataDir(), "gpt2", "vocab.json"), Path.Combine(DataDir(), "gpt2", "merges.txt")));

    /// <summary>A model that always continues <see cref="ScriptText"/> (then EOS), whatever the prompt's tokens are.</summary>
    private static CausalLM ScriptModel(out int[] script)
    {
        script = [.. Gpt2.Value.EncodeToIds(ScriptText)];
        return CausalLM.Load(ScriptFolder("main", script, Vocab, Eos));
    }

    [TestMethod]
    public void ScriptModel_LoadsAsNoCacheWithTokenizer_AndBatchedTextPromptsContinueByPosition()
    {
        using var model = ScriptModel(out int[] script);
        Assert.AreEqual(DecoderLayout.NoCache, model.Layout);
        Assert.IsNotNull(model.Tokenizer);
        Assert.IsTrue(script.Length > 20, "emoji and CJK take several byte-level tokens");
        var generator = new TextGenerator(model);
        var results = generator.Generate(["Hello", "Hello world"], new GenerationOptions { MaxNewTokens = 40 });
        Assert.AreEqual(ScriptText["Hello".Length..], results[0].Text);
        Assert.AreEqual(ScriptText["Hello world".Length..], results[1].Text);
        Assert.AreEqual(FinishReason.EndOfSequence, results[0].FinishReason);
        Assert.AreEqual(Eos, results[0].TokenIds[^1]);
        CollectionAssert.AreEqual(script[1..], results[0].TokenIds.Take(script.Length - 1).ToArray());
    }

    [TestMethod]
    public void StopString_SpanningTwoTokens_StopsAtTheRightCharacter()
    {
        using var model = ScriptModel(out int[] script);
        var generator = new TextGenerator(model);
        // "ld, th" spans " world", "," and " this".
        var r = generator.Generate("Hello", new GenerationOptions { MaxNewTokens = 40, StopSequences = ["zzz", "ld, th"] })[0];
        Assert.AreEqual(" wor", r.Text);
        Assert.AreEqual(FinishReason.StopSequence, r.FinishReason);
        var thisToken = Gpt2.Value.EncodeToIds(" this").Single();
        Assert.AreEqual(thisToken, r.TokenIds[^1], "generation stops at the token that completes the stop string");
        Assert.AreEqual(3, r.TokenIds.Count);
    }

    [TestMethod]
    public void StopString_NewlinePair_MatchesTwoSeparateNewlineTokens()
    {
        // "\n\n" is one GPT-2 token (628), but here the model writes 198, 198: text matching still stops there.
        int[] hello = [.. Gpt2.Value.EncodeToIds("Hello")];
        int[] script = [.. hello, .. Gpt2.Value.EncodeToIds(" A"), 198, 198, .. Gpt2.Value.EncodeToIds("B")];
        using var model = CausalLM.Load(ScriptFolder("newlines", script, Vocab, Eos));
        var r = new TextGenerator(model).Generate("Hello", new GenerationOptions { MaxNewTokens = 10, StopSequences = ["\n\n"] })[0];
        Assert.AreEqual(" A", r.Text);
        Assert.AreEqual(FinishReason.StopSequence, r.FinishReason);
        CollectionAssert.AreEqual(new[] { script[1], 198, 198 }, r.TokenIds.ToArray());
    }

    [TestMethod]
    public async Task Streaming_EmojiAndCjk_DeltasAreWholeCharactersAndConcatenateToTheText()
    {
        using var model = ScriptModel(out _);
        var generator = new TextGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 40 };
        var deltas = new List<string>();
        await foreach (var delta in generator.GenerateStreamingAsync("Hello", options)) deltas.Add(delta);
        string expected = ScriptText["Hello".Length..];
        Assert.AreEqual(expected, string.Concat(deltas));
        Assert.AreEqual(generator.Generate("Hello", options)[0].Text, string.Concat(deltas));
        Assert.IsTrue(deltas.Count >= 10, $"expected many deltas, got {deltas.Count}");
        foreach (var d in deltas)
        {
            Assert.IsFalse(d.Contains('\uFFFD'), $"delta '{d}' holds a replacement character");
            Assert.IsFalse(char.IsHighSurrogate(d[^1]), "a delta ends inside a surrogate pair");
            Assert.IsFalse(char.IsLowSurrogate(d[0]), "a delta starts inside a surrogate pair");
        }
        Assert.IsTrue(deltas.Any(d => d.Contains("😀")) && deltas.Any(d => d.Contains('中')), "the emoji and CJK come out whole");
    }

    [TestMethod]
    public async Task Streaming_WithStopString_NeverEmitsTheStopString()
    {
        using var model = ScriptModel(out _);
        var generator = new TextGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 40, StopSequences = ["中文字"] };
        var sb = new StringBuilder();
        await foreach (var delta in generator.GenerateStreamingAsync("Hello", options)) sb.Append(delta);
        Assert.AreEqual(" world, this is a test of 😀 emoji and ", sb.ToString());
        Assert.AreEqual(sb.ToString(), generator.GenerateText("Hello", options));
    }

    [TestMethod]
    public async Task Streaming_Cancellation_StopsTheStream()
    {
        using var model = ScriptModel(out _);
        var generator = new TextGenerator(model);
        using var cts = new CancellationTokenSource();
        int count = 0;
        await Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var delta in generator.GenerateStreamingAsync("Hello", new GenerationOptions { MaxNewTokens = 40 }, cts.Token))
                if (++count == 2) cts.Cancel();
        });
        Assert.AreEqual(2, count);
    }

    [TestMethod]
    public void BeamSearch_AppliesStopStringsToTheFinishedText()
    {
        using var model = ScriptModel(out _);
        var r = new TextGenerator(model).Generate(["Hello"], new GenerationOptions { NumBeams = 2, MaxNewTokens = 6, StopSequences = [", this"] })[0];
        Assert.AreEqual(" world", r.Text);
        Assert.AreEqual(FinishReason.StopSequence, r.FinishReason);
        Assert.AreEqual(3, r.TokenIds.Count, "\" world\", \",\" and the completing \" this\"");
    }

    [TestMethod]
    public async Task BatchedStreaming_InterleavesSequences_AndEachConcatenatesToItsText()
    {
        using var model = ScriptModel(out _);
        var generator = new TextGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 40, StopSequences = ["中文"] };
        string[] prompts = ["Hello", "Hello world, this is"];
        var expected = generator.Generate(prompts, options);
        var texts = new[] { new StringBuilder(), new StringBuilder() };
        var finish = new FinishReason?[2];
        var order = new List<int>();
        await foreach (var d in generator.GenerateStreamingAsync(prompts, options))
        {
            Assert.IsNull(finish[d.SequenceIndex], "no delta after a sequence's final one");
            texts[d.SequenceIndex].Append(d.Text);
            finish[d.SequenceIndex] = d.FinishReason;
            Assert.AreEqual(d.SequenceIndex, d.PromptIndex);
            order.Add(d.SequenceIndex);
        }
        for (int i = 0; i < 2; i++)
        {
            Assert.AreEqual(expected[i].Text, texts[i].ToString());
            Assert.AreEqual(FinishReason.StopSequence, finish[i]);
        }
        Assert.AreEqual(" world, this is a test of 😀 emoji and ", texts[0].ToString());
        int firstOfSecond = order.IndexOf(1), lastOfFirst = order.LastIndexOf(0);
        Assert.IsTrue(firstOfSecond < lastOfFirst, "deltas of the two sequences interleave");
    }

    [TestMethod]
    public async Task TextLevelCallsFromSeveralThreads_MatchSerialResults()
    {
        using var model = ScriptModel(out _);
        var generator = new TextGenerator(model);
        string[] prompts = ["Hello", "Hello world", "Hello world, this", "Hello world, this is a"];
        var options = new GenerationOptions { MaxNewTokens = 12, StopSequences = ["中文"] };
        var serial = prompts.Select(p => generator.GenerateText(p, options)).ToArray();
        var parallel = await Task.WhenAll(prompts.Select(p => Task.Run(async () =>
        {
            var sb = new StringBuilder();
            await foreach (var d in generator.GenerateStreamingAsync(p, options)) sb.Append(d);
            return (Text: generator.GenerateText(p, options), Streamed: sb.ToString());
        })));
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.AreEqual(serial[i], parallel[i].Text, $"prompt {i}");
            Assert.AreEqual(serial[i], parallel[i].Streamed, $"prompt {i} streamed");
        }
        Assert.AreEqual(ScriptText.Substring(5, serial[0].Length), serial[0]);
    }
}
