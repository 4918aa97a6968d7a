using Aigc.MLNet.Onnx.Gpt2;

namespace Aigc.MLNet.Onnx.Tests.Gpt2;

[TestClass]
public sealed class Gpt2ConfigTests
{
    private const string HfGpt2Config = """
        {
          "activation_function": "gelu_new",
          "architectures": ["GPT2LMHeadModel"],
          "attn_pdrop": 0.1,
          "bos_token_id": 50256,
          "embd_pdrop": 0.1,
          "eos_token_id": 50256,
          "initializer_range": 0.02,
          "layer_norm_epsilon": 1e-05,
          "model_type": "gpt2",
          "n_ctx": 1024,
          "n_embd": 768,
          "n_head": 12,
          "n_layer": 12,
          "n_positions": 1024,
          "resid_pdrop": 0.1,
          "summary_activation": null,
          "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
          "vocab_size": 50257
        }
        """;

    [TestMethod]
    public void HuggingFaceGpt2Config_ParsesAndRoundTrips()
    {
        Gpt2Config c = Gpt2Config.FromJson(HfGpt2Config);
        Assert.AreEqual(12, c.NumLayers);
        Assert.AreEqual(12, c.NumHeads);
        Assert.AreEqual(768, c.EmbeddingSize);
        Assert.AreEqual(64, c.HeadSize);
        Assert.AreEqual(3072, c.MlpSize);
        Assert.AreEqual(1024, c.MaxPositions);
        Assert.AreEqual(50257, c.VocabSize);
        Assert.AreEqual(1e-5f, c.LayerNormEpsilon);
        Assert.AreEqual(50256, c.EosTokenId);
        Assert.IsNull(c.PadTokenId);

        Gpt2Config back = Gpt2Config.FromJson(c.ToJson());
        Assert.AreEqual(c.ToJson(), back.ToJson());
        StringAssert.Contains(c.ToJson(), "\"model_type\": \"gpt2\"");
    }

    [TestMethod]
    public void BadConfigs_FailWithTheField()
    {
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(
            () => Gpt2Config.FromJson("""{"model_type": "llama"}""", "x/config.json")).Message, "'x/config.json': model_type is 'llama'");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(
            () => Gpt2Config.FromJson("""{"n_embd": 100, "n_head": 12}""")).Message, "multiple of NumHeads");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(
            () => Gpt2Config.FromJson("""{"n_layer": "two"}""")).Message, "'n_layer' must be an integer");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(
            () => Gpt2Config.FromJson("{")).Message, "not valid JSON");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(
            () => new Gpt2Config { VocabSize = 100 }.Validate()).Message, "BosTokenId (50256)");
    }
}
