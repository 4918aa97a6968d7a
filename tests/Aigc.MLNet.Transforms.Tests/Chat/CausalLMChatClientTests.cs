using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Chat;
using Aigc.MLNet.Transforms.Tests.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

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

    private static GeneratedSequence Engine(string prompt, GenerationOptions options, params Func<ILogitsProcessor>[] processors)
    {
        using var lm = CausalLM.Load(TextModels.CharModel);
        return new TextGenerator(lm) { LogitsProcessors = processors }.Generate(prompt, options)[0];
    }

    [TestMethod]
    public async Task StreamedUpdates_RebuildTheResponse_WithFinishReasonUsageAndIds()
    {
        using IChatClient client = new CausalLMChatClient(TextModels.CharModel);
        var options = new ChatOptions { MaxOutputTokens = 9, Temperature = 0.8f, Seed = 4 };
        var messages = new[] { new ChatMessage(ChatRole.User, "ROMEO:") };
        var direct = await client.GetResponseAsync(messages, options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(messages, options)) updates.Add(u);
        var rebuilt = updates.ToChatResponse();

        var expected = Engine("ROMEO:", new GenerationOptions { MaxNewTokens = 9, DoSample = true, Temperature = 0.8, Seed = 4 });
        Assert.AreEqual(expected.Text, direct.Text);
        Assert.AreEqual(expected.Text, rebuilt.Text);
        Assert.AreEqual(expected.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, rebuilt.FinishReason);
        Assert.AreEqual(direct.FinishReason, rebuilt.FinishReason);
        Assert.AreEqual(6L, rebuilt.Usage!.InputTokenCount);
        Assert.AreEqual(expected.TokenIds.Count, (int)rebuilt.Usage.OutputTokenCount!.Value);
        Assert.AreEqual(6L + expected.TokenIds.Count, rebuilt.Usage.TotalTokenCount);
        Assert.AreEqual(direct.Usage!.TotalTokenCount, rebuilt.Usage.TotalTokenCount);
        Assert.IsTrue(updates.All(u => u.ResponseId == updates[0].ResponseId && u.ResponseId!.StartsWith("aigc-", StringComparison.Ordinal)));
        Assert.AreEqual(updates[0].ResponseId, rebuilt.ResponseId);
        Assert.AreNotEqual(direct.ResponseId, rebuilt.ResponseId, "every response has its own id");
        Assert.AreEqual(TextModels.CharModel, rebuilt.ModelId);
        Assert.IsNotNull(rebuilt.CreatedAt);
        Assert.AreEqual(1, updates.Count(u => u.FinishReason is not null), "only the last update carries the finish reason");
        Assert.IsNotNull(updates[^1].FinishReason);
    }

    [TestMethod]
    public async Task HuggingFaceControls_ComeThroughAdditionalProperties_OrARawGenerationOptions()
    {
        using IChatClient client = new CausalLMChatClient(TextModels.CharModel);
        var messages = new[] { new ChatMessage(ChatRole.User, "First Cit") };
        var typed = new ChatOptions
        {
            MaxOutputTokens = 10,
            AdditionalProperties = new() { ["num_beams"] = 3, ["length_penalty"] = 0.5, ["repetition_penalty"] = 1.4, ["no_repeat_ngram_size"] = 2 },
        };
        var expected = Engine("First Cit", new GenerationOptions { MaxNewTokens = 10, NumBeams = 3, LengthPenalty = 0.5, RepetitionPenalty = 1.4, NoRepeatNgramSize = 2 });
        Assert.AreEqual(expected.Text, (await client.GetResponseAsync(messages, typed)).Text);

        // The same values as a deserialized request carries them (JsonElement).
        var json = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, System.Text.Json.JsonElement>>(
            """{ "num_beams": 3, "length_penalty": 0.5, "repetition_penalty": 1.4, "no_repeat_ngram_size": 2 }""")!;
        var fromJson = new ChatOptions { MaxOutputTokens = 10, AdditionalProperties = new(json.ToDictionary(kv => kv.Key, kv => (object?)kv.Value)) };
        Assert.AreEqual(expected.Text, (await client.GetResponseAsync(messages, fromJson)).Text);

        // RawRepresentationFactory: a whole GenerationOptions is the base; typed options still refine it.
        var raw = new ChatOptions
        {
            MaxOutputTokens = 10,
            RawRepresentationFactory = _ => new GenerationOptions { NumBeams = 3, LengthPenalty = 0.5, RepetitionPenalty = 1.4, NoRepeatNgramSize = 2, MaxNewTokens = 99 },
        };
        Assert.AreEqual(expected.Text, (await client.GetResponseAsync(messages, raw)).Text);

        var wrong = new ChatOptions { AdditionalProperties = new() { ["num_beams"] = "three" } };
        var e = Assert.ThrowsExactly<ArgumentException>(() => ((CausalLMChatClient)client).ToGeneration(wrong));
        StringAssert.Contains(e.Message, "AdditionalProperties[\"num_beams\"] must be Int32");
        await Assert.ThrowsExactlyAsync<NotSupportedException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(messages, typed)) { }
        });
    }

    [TestMethod]
    public async Task PenaltiesSeedToolsAndFormats_AreMappedOrRefusedClearly()
    {
        using var client = new CausalLMChatClient(TextModels.CharModel);
        var messages = new[] { new ChatMessage(ChatRole.User, "ROMEO:") };
        var penalised = new ChatOptions { MaxOutputTokens = 12, FrequencyPenalty = 1.5f, PresencePenalty = 0.5f };
        var expected = Engine("ROMEO:", new GenerationOptions { MaxNewTokens = 12 }, () => new FrequencyPresencePenaltyLogitsProcessor(1.5, 0.5));
        var plain = Engine("ROMEO:", new GenerationOptions { MaxNewTokens = 12 });
        Assert.AreEqual(expected.Text, (await client.GetResponseAsync(messages, penalised)).Text);
        Assert.AreNotEqual(plain.Text, expected.Text, "the penalties change greedy text on this model");

        var seed = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => client.ToGeneration(new ChatOptions { Seed = 1L << 40 }));
        StringAssert.Contains(seed.Message, "ChatOptions.Seed is 1099511627776");
        var tool = AIFunctionFactory.Create((int a) => a + 1, "inc");
        var tools = Assert.ThrowsExactly<NotSupportedException>(() => client.ToGeneration(new ChatOptions { Tools = [tool] }));
        StringAssert.Contains(tools.Message, "does not call tools");
        Assert.AreEqual(12, client.ToGeneration(new ChatOptions { Tools = [tool], ToolMode = ChatToolMode.None, MaxOutputTokens = 12 }).MaxNewTokens);
        Assert.ThrowsExactly<NotSupportedException>(() => client.ToGeneration(new ChatOptions { ResponseFormat = ChatResponseFormat.Json }));
        Assert.ThrowsExactly<NotSupportedException>(() => client.ToGeneration(new ChatOptions { AdditionalProperties = new() { ["num_return_sequences"] = 2, ["do_sample"] = true } }));
    }

    [TestMethod]
    public async Task DependencyInjection_MiddlewarePipeline_AndSemanticKernel_UseTheClient()
    {
        var services = new ServiceCollection();
        int calls = 0;
        services.AddCausalLMChatClient(TextModels.CharModel)
            .ConfigureOptions(o => o.MaxOutputTokens ??= 6)
            .Use(async (messages, options, next, ct) =>
            {
                Interlocked.Increment(ref calls);
                await next(messages, options, ct);
            });
        using (var provider = services.BuildServiceProvider())
        {
            var client = provider.GetRequiredService<IChatClient>();
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "First")]);
            Assert.AreEqual(Engine("First", new GenerationOptions { MaxNewTokens = 6 }).Text, response.Text);
            Assert.AreEqual(1, calls, "the middleware saw the call");
            Assert.IsNotNull(client.GetService<CausalLMChatClient>(), "the pipeline ends in this client");
        }

        // Semantic Kernel 1.82 over the same IChatClient: its chat completion service and a prompt function.
        using IChatClient inner = new CausalLMChatClient(TextModels.CharModel);
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton(inner);
        var kernel = builder.Build();
        var chat = inner.AsChatCompletionService();
        var history = new ChatHistory();
        history.AddUserMessage("ROMEO:");
        var reply = await chat.GetChatMessageContentAsync(history, new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["max_tokens"] = 8 } });
        string expected = Engine("ROMEO:", new GenerationOptions { MaxNewTokens = 8 }).Text!;
        Assert.AreEqual(expected, reply.Content);
        var viaPrompt = await kernel.InvokePromptAsync("ROMEO:", new KernelArguments(new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["max_tokens"] = 8 } }));
        Assert.AreEqual(expected, viaPrompt.ToString());
    }
}
