using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Chat;
using Aigc.MLNet.Transforms.Tests.Text;
using Microsoft.Extensions.AI;

namespace Aigc.MLNet.Transforms.Tests.Chat;

[TestClass]
public sealed class CausalLMChatClientTests
{
    [TestMethod]
    public async Task ResponseEqualsTheEngineWithMappedOptions()
    {
        using IChatClient client = new CausalLMChatClient(TextModels.CharModel);
        var options = new ChatOptions { MaxOutputTokens = 7, Temperature = 0.7f, TopK = 5, TopP = 0.9f, Seed = 11 };
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "First Cit")], options);

        using var lm = CausalLM.Load(TextModels.CharModel);
        var expected = new TextGenerator(lm).Generate("First Cit",
            new GenerationOptions { MaxNewTokens = 7, DoSample = true, Temperature = 0.7f, TopK = 5, TopP = 0.9f, Seed = 11 })[0];
        Assert.AreEqual(expected.Text, response.Text);
        Assert.AreEqual(expected.TokenIds.Count, (int)response.Usage!.OutputTokenCount!.Value);
        Assert.AreEqual(9L, response.Usage.InputTokenCount);
        Assert.AreEqual(expected.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
    }

    [TestMethod]
    public async Task StreamingConcatenatesToTheResponse()
    {
        using IChatClient client = new CausalLMChatClient(TextModels.CharModel);
        var options = new ChatOptions { MaxOutputTokens = 12, Temperature = 0 };
        var messages = new[] { new ChatMessage(ChatRole.User, "ROMEO:") };
        string full = (await client.GetResponseAsync(messages, options)).Text;
        var parts = new List<string>();
        await foreach (var update in client.GetStreamingResponseAsync(messages, options))
            parts.Add(update.Text);
        Assert.AreEqual(full, string.Concat(parts));
    }

    [TestMethod]
    public void OptionsMapToGenerationOptionsAndConversationsAreFormatted()
    {
        using var client = new CausalLMChatClient(TextModels.CharModel);
        var g = client.ToGeneration(new ChatOptions { MaxOutputTokens = 5, Temperature = 0, StopSequences = ["\n\n"], Seed = 3 });
        Assert.AreEqual(5, g.MaxNewTokens);
        Assert.IsFalse(g.DoSample);
        CollectionAssert.AreEqual(new[] { "\n\n" }, g.StopSequences!.ToArray());
        Assert.AreEqual(3, g.Seed);
        string prompt = client.PromptFormatter([new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "Hi")]);
        Assert.AreEqual("System: Be brief.\nUser: Hi\nAssistant:", prompt);
        Assert.IsInstanceOfType<ChatClientMetadata>(client.GetService(typeof(ChatClientMetadata)));
        var bad = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => client.ToGeneration(new ChatOptions { TopP = 1.5f }));
        StringAssert.Contains(bad.Message, "TopP");
    }
}
