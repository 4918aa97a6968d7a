using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Onnx.Tests.Logits;

[TestClass]
public sealed class GenerationOptionsTests
{
    [TestMethod]
    public void Defaults_MatchHuggingFace()
    {
        var o = new GenerationOptions();
        Assert.IsNull(o.MaxNewTokens);
        Assert.IsNull(o.MaxLength);
        Assert.AreEqual(0, o.MinNewTokens);
        Assert.IsFalse(o.DoSample);
        Assert.AreEqual(1.0, o.Temperature);
        Assert.AreEqual(50, o.TopK);
        Assert.AreEqual(1.0, o.TopP);
        Assert.AreEqual(1, o.NumBeams);
        Assert.AreEqual(1.0, o.LengthPenalty);
        Assert.IsFalse(o.EarlyStopping);
        Assert.AreEqual(1, o.NumReturnSequences);
        Assert.AreEqual(1.0, o.RepetitionPenalty);
        Assert.AreEqual(0, o.NoRepeatNgramSize);
        o.Validate();
    }

    [TestMethod]
    public void GetMaxNewTokens_PrecedenceAndDefault()
    {
        Assert.AreEqual(20, new GenerationOptions().GetMaxNewTokens(100));
        Assert.AreEqual(7, new GenerationOptions { MaxNewTokens = 7, MaxLength = 3 }.GetMaxNewTokens(100));
        Assert.AreEqual(6, new GenerationOptions { MaxLength = 10 }.GetMaxNewTokens(4));
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new GenerationOptions { MaxLength = 4 }.GetMaxNewTokens(4));
        StringAssert.Contains(ex.Message, "MaxLength");
    }

    private static void AssertInvalid(GenerationOptions o, string option)
    {
        var ex = Assert.Throws<ArgumentException>(o.Validate);
        Assert.AreEqual(option, ex.ParamName);
        StringAssert.Contains(ex.Message, option);
    }

    [TestMethod]
    public void Validate_RejectsEachInvalidOption()
    {
        AssertInvalid(new GenerationOptions { MaxNewTokens = 0 }, "MaxNewTokens");
        AssertInvalid(new GenerationOptions { MaxLength = 0 }, "MaxLength");
        AssertInvalid(new GenerationOptions { MinNewTokens = -1 }, "MinNewTokens");
        AssertInvalid(new GenerationOptions { DoSample = true, Temperature = 0 }, "Temperature");
        AssertInvalid(new GenerationOptions { Temperature = double.NaN }, "Temperature");
        AssertInvalid(new GenerationOptions { TopK = -1 }, "TopK");
        AssertInvalid(new GenerationOptions { TopP = 0 }, "TopP");
        AssertInvalid(new GenerationOptions { TopP = 1.5 }, "TopP");
        AssertInvalid(new GenerationOptions { NumBeams = 0 }, "NumBeams");
        AssertInvalid(new GenerationOptions { NumBeams = 2, NumReturnSequences = 3 }, "NumReturnSequences");
        AssertInvalid(new GenerationOptions { NumReturnSequences = 2 }, "NumReturnSequences");
        AssertInvalid(new GenerationOptions { NumReturnSequences = 0 }, "NumReturnSequences");
        AssertInvalid(new GenerationOptions { RepetitionPenalty = 0 }, "RepetitionPenalty");
        AssertInvalid(new GenerationOptions { NoRepeatNgramSize = -2 }, "NoRepeatNgramSize");
        AssertInvalid(new GenerationOptions { BadWordsIds = [[1], []] }, "BadWordsIds");
        AssertInvalid(new GenerationOptions { BadWordsIds = [[-1]] }, "BadWordsIds");
        AssertInvalid(new GenerationOptions { EosTokenIds = [-3] }, "EosTokenIds");
        AssertInvalid(new GenerationOptions { PadTokenId = -1 }, "PadTokenId");
        AssertInvalid(new GenerationOptions { StopSequences = ["\n", ""] }, "StopSequences");
        AssertInvalid(new GenerationOptions { LengthPenalty = double.PositiveInfinity }, "LengthPenalty");
    }

    [TestMethod]
    public void Validate_AcceptsValidCombinations()
    {
        new GenerationOptions { Temperature = 0 }.Validate(); // greedy ignores temperature, as HF
        new GenerationOptions { DoSample = true, NumReturnSequences = 4 }.Validate();
        new GenerationOptions { NumBeams = 4, NumReturnSequences = 4, LengthPenalty = -1 }.Validate();
        new GenerationOptions { TopK = 0, TopP = 1, MaxNewTokens = 1 }.Validate();
    }

    [TestMethod]
    public void Clone_IsDeep()
    {
        int[] bad = [1, 2];
        var o = new GenerationOptions { MaxNewTokens = 5, DoSample = true, Seed = 3, BadWordsIds = [bad], EosTokenIds = [9], StopSequences = ["x"] };
        var c = o.Clone();
        Assert.AreEqual(5, c.MaxNewTokens);
        Assert.IsTrue(c.DoSample);
        Assert.AreEqual(3, c.Seed);
        Assert.AreNotSame(o.BadWordsIds, c.BadWordsIds);
        Assert.AreNotSame(bad, c.BadWordsIds![0]);
        CollectionAssert.AreEqual(bad, c.BadWordsIds[0]);
        bad[0] = 42;
        Assert.AreEqual(1, c.BadWordsIds[0][0]);
        Assert.AreNotSame(o.EosTokenIds, c.EosTokenIds);
        CollectionAssert.AreEqual(new[] { "x" }, c.StopSequences!.ToArray());
    }
}

[TestClass]
public sealed class GenerationConfigTests
{
    private static GenerationOptions Read(string json) => GenerationOptions.FromGenerationConfig(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));

    [TestMethod]
    public void Gpt2GenerationConfig_ReadsEos()
    {
        var o = Read("""{"_from_model_config": true, "bos_token_id": 50256, "eos_token_id": 50256, "transformers_version": "4.26.0.dev0"}""");
        CollectionAssert.AreEqual(new[] { 50256 }, o.EosTokenIds!.ToArray());
        Assert.IsNull(o.MaxNewTokens);
        Assert.AreEqual(50, o.TopK);
    }

    [TestMethod]
    public void AllKnownKeys()
    {
        var o = Read("""
            {"max_new_tokens": 64, "max_length": null, "min_new_tokens": 2, "do_sample": true, "temperature": 0.7, "top_k": 0,
             "top_p": 0.95, "num_beams": 3, "length_penalty": 0.5, "early_stopping": "never", "num_return_sequences": 2,
             "repetition_penalty": 1.2, "no_repeat_ngram_size": 3, "bad_words_ids": [[1], [2, 3]], "eos_token_id": [1, 2],
             "pad_token_id": 0, "stop_strings": "\n\n", "output_scores": true}
            """);
        Assert.AreEqual(64, o.MaxNewTokens);
        Assert.IsNull(o.MaxLength);
        Assert.AreEqual(2, o.MinNewTokens);
        Assert.IsTrue(o.DoSample);
        Assert.AreEqual(0.7, o.Temperature);
        Assert.AreEqual(0, o.TopK);
        Assert.AreEqual(0.95, o.TopP);
        Assert.AreEqual(3, o.NumBeams);
        Assert.AreEqual(0.5, o.LengthPenalty);
        Assert.IsFalse(o.EarlyStopping);
        Assert.AreEqual(2, o.NumReturnSequences);
        Assert.AreEqual(1.2, o.RepetitionPenalty);
        Assert.AreEqual(3, o.NoRepeatNgramSize);
        CollectionAssert.AreEqual(new[] { 2, 3 }, o.BadWordsIds![1]);
        CollectionAssert.AreEqual(new[] { 1, 2 }, o.EosTokenIds!.ToArray());
        Assert.AreEqual(0, o.PadTokenId);
        CollectionAssert.AreEqual(new[] { "\n\n" }, o.StopSequences!.ToArray());
        Assert.IsTrue(o.OutputScores);
        o.Validate();
    }

    [TestMethod]
    public void WrongType_ThrowsNamingKey()
    {
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => Read("""{"top_k": "many"}"""));
        StringAssert.Contains(ex.Message, "top_k");
        Assert.ThrowsExactly<InvalidDataException>(() => Read("[1]"));
        Assert.ThrowsExactly<FileNotFoundException>(() => GenerationOptions.FromGenerationConfig("/nonexistent/generation_config.json"));
    }
}
