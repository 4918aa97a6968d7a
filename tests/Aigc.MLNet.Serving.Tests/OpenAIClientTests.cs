using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Serving.Protocol;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using System.ClientModel.Primitives;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;

namespace Aigc.MLNet.Serving.Tests;

/// <summary>The official OpenAI .NET client and Microsoft.Extensions.AI.OpenAI against a server on a loopback port; every answer is checked against the engine run alone.</summary>
[TestClass]
public sealed class OpenAIClientTests
{
    private static OpenAIServer _server = null!;
    private static OpenAIClient _client = null!;
    private static TextGenerator _engine = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext _)
    {
        _server = await TestModels.StartServerAsync(TestModels.Tiny);
        _client = TestModels.Client(_server);
        _engine = new TextGenerator(_server.Model);
    }

    [ClassCleanup]
    public static async Task StopAsync() => await _server.DisposeAsync();

    private static readonly (string Role, string Content)[] Conversation = [("system", "You answer briefly."), ("user", "What is the capital of France?")];

    private static OpenAI.Chat.ChatMessage[] ClientMessages() => [new SystemChatMessage(Conversation[0].Content), new UserChatMessage(Conversation[1].Content)];

    /// <summary>What the engine generates alone for the chat prompt with the server's mapping of the options.</summary>
    private static GeneratedSequence ChatAlone(GenerationOptions options)
    {
        options.StopSequences = [ChatTemplate.TurnStop, .. options.StopSequences ?? []];
        return _engine.Generate(ChatTemplate.Render(Conversation), options)[0];
    }

    private static int PromptTokens(string prompt) => _server.Model.Tokenizer!.EncodeToIds(prompt).Count;

    [TestMethod]
    public async Task ChatCompletion_Greedy_EqualsTheEngine_WithUsageAndFinishReason()
    {
        var expected = ChatAlone(new GenerationOptions { MaxNewTokens = 12 });
        var chat = _client.GetChatClient(_server.ModelId);
        ChatCompletion completion = await chat.CompleteChatAsync(ClientMessages(), new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 });
        Assert.AreEqual(expected.Text, completion.Content[0].Text);
        Assert.AreEqual(expected.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, completion.FinishReason);
        Assert.AreEqual(PromptTokens(ChatTemplate.Render(Conversation)), completion.Usage.InputTokenCount);
        Assert.AreEqual(expected.TokenIds.Count, completion.Usage.OutputTokenCount);
        Assert.AreEqual(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.AreEqual(_server.ModelId, completion.Model);
        StringAssert.StartsWith(completion.Id, "chatcmpl-");
        Assert.AreEqual(ChatMessageRole.Assistant, completion.Role);
    }

    [TestMethod]
    public async Task ChatCompletion_SeededSampling_IsDeterministic_AndEqualsTheEngine()
    {
        var chat = _client.GetChatClient(_server.ModelId);
        ChatCompletionOptions Options(long seed) => new() { Temperature = 0.9f, TopP = 0.95f, Seed = seed, MaxOutputTokenCount = 20, FrequencyPenalty = 0.5f, PresencePenalty = 0.25f };
        string first = (await chat.CompleteChatAsync(ClientMessages(), Options(42))).Value.Content[0].Text;
        string again = (await chat.CompleteChatAsync(ClientMessages(), Options(42))).Value.Content[0].Text;
        string other = (await chat.CompleteChatAsync(ClientMessages(), Options(43))).Value.Content[0].Text;
        Assert.AreEqual(first, again, "same seed, same text");
        Assert.AreNotEqual(first, other, "another seed should sample another text");
        var alone = new TextGenerator(_server.Model) { LogitsProcessors = [() => new FrequencyPresencePenaltyLogitsProcessor(0.5, 0.25)] }
            .Generate(ChatTemplate.Render(Conversation), new GenerationOptions
            {
                MaxNewTokens = 20, DoSample = true, Temperature = 0.9, TopP = 0.95, TopK = 0, Seed = 42, StopSequences = [ChatTemplate.TurnStop],
            })[0];
        Assert.AreEqual(alone.Text, first);
    }

    [TestMethod]
    public async Task ChatWithNTwo_ThroughTheOfficialClient_ReturnsTheEnginesTwoSequences()
    {
        // ChatCompletionOptions has no public N in OpenAI 2.15; its JSON patch sets the field, and the raw response holds every choice.
        var options = new ChatCompletionOptions { Seed = 9, Temperature = 0.7f, MaxOutputTokenCount = 12 };
        options.Patch.Set("$.n"u8, 2);
        var result = await _client.GetChatClient(_server.ModelId).CompleteChatAsync(ClientMessages(), options);
        var choices = JsonDocument.Parse(result.GetRawResponse().Content.ToString()).RootElement.GetProperty("choices").EnumerateArray().ToList();
        var alone = _engine.Generate(ChatTemplate.Render(Conversation), new GenerationOptions
        {
            MaxNewTokens = 12, DoSample = true, Temperature = 0.7, TopK = 0, Seed = 9, NumReturnSequences = 2, StopSequences = [ChatTemplate.TurnStop],
        });
        Assert.AreEqual(2, choices.Count);
        for (int j = 0; j < 2; j++)
        {
            Assert.AreEqual(j, choices[j].GetProperty("index").GetInt32());
            Assert.AreEqual(alone[j].Text, choices[j].GetProperty("message").GetProperty("content").GetString(), $"choice {j}");
        }
        Assert.AreEqual(alone[0].Text, result.Value.Content[0].Text);
        Assert.AreNotEqual(alone[0].Text, alone[1].Text);
        Assert.AreEqual(alone.Sum(a => a.TokenIds.Count), result.Value.Usage.OutputTokenCount);
    }

    [TestMethod]
    public async Task ChatStreaming_DeltasConcatenateToTheEngineText_AndEndWithUsage()
    {
        var expected = ChatAlone(new GenerationOptions { MaxNewTokens = 25, DoSample = true, Seed = 7, TopK = 0 });
        var chat = _client.GetChatClient(_server.ModelId);
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        int updates = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync(ClientMessages(), new ChatCompletionOptions { Seed = 7, MaxOutputTokenCount = 25 }))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.AreEqual(expected.Text, text.ToString());
        Assert.IsTrue(updates > 3, $"{updates} updates: the text should arrive in pieces");
        Assert.AreEqual(expected.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, finish);
        Assert.IsNotNull(usage, "the OpenAI client asks for include_usage; the last chunk carries it");
        Assert.AreEqual(expected.TokenIds.Count, usage.OutputTokenCount);
    }

    [TestMethod]
    public async Task ChatStopSequence_CutsTheTextWhereTheEngineDoes()
    {
        var free = ChatAlone(new GenerationOptions { MaxNewTokens = 30, DoSample = true, Seed = 11, TopK = 0 });
        Assert.IsTrue(free.Text!.Length > 8, free.Text);
        string stop = free.Text.Substring(free.Text.Length / 2, 3);
        var expected = ChatAlone(new GenerationOptions { MaxNewTokens = 30, DoSample = true, Seed = 11, TopK = 0, StopSequences = [stop] });
        Assert.AreEqual(FinishReason.StopSequence, expected.FinishReason);
        var options = new ChatCompletionOptions { Seed = 11, MaxOutputTokenCount = 30 };
        options.StopSequences.Add(stop);
        ChatCompletion completion = await _client.GetChatClient(_server.ModelId).CompleteChatAsync(ClientMessages(), options);
        Assert.AreEqual(expected.Text, completion.Content[0].Text);
        Assert.IsFalse(completion.Content[0].Text.Contains(stop, StringComparison.Ordinal));
        Assert.AreEqual(ChatFinishReason.Stop, completion.FinishReason);
    }

    [TestMethod]
    public async Task MicrosoftExtensionsAI_ChatClient_GetsTheEngineText_PlainAndStreamed()
    {
        IChatClient chat = _client.GetChatClient(_server.ModelId).AsIChatClient();
        var expected = ChatAlone(new GenerationOptions { MaxNewTokens = 15 });
        Microsoft.Extensions.AI.ChatMessage[] messages = [new(ChatRole.System, Conversation[0].Content), new(ChatRole.User, Conversation[1].Content)];
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 15 };
        var response = await chat.GetResponseAsync(messages, options);
        Assert.AreEqual(expected.Text, response.Text);
        Assert.AreEqual((long)expected.TokenIds.Count, response.Usage!.OutputTokenCount);
        var streamed = new StringBuilder();
        await foreach (var update in chat.GetStreamingResponseAsync(messages, options)) streamed.Append(update.Text);
        Assert.AreEqual(expected.Text, streamed.ToString());
    }

    [TestMethod]
    public async Task LegacyCompletions_ThroughTheOfficialClient_MatchTheEngine_ForNPromptListsAndEcho()
    {
        // OpenAI 2.15 ships no public client for the legacy /v1/completions route, so the request goes through the
        // official client's own HTTP pipeline (its authentication, retry and error policies).
        async Task<JsonElement> Complete(object body)
        {
            using PipelineMessage message = _client.Pipeline.CreateMessage();
            message.Request.Method = "POST";
            message.Request.Uri = new Uri(_server.BaseAddress, "v1/completions");
            message.Request.Headers.Set("Content-Type", "application/json");
            message.Request.Content = BinaryContent.Create(BinaryData.FromObjectAsJson(body));
            await _client.Pipeline.SendAsync(message);
            Assert.AreEqual(200, message.Response!.Status, message.Response.Content.ToString());
            return JsonDocument.Parse(message.Response.Content.ToString()).RootElement.Clone();
        }

        // n = 3, seeded sampling: choice j is the engine's return sequence j.
        var sampled = await Complete(new { model = _server.ModelId, prompt = "Once upon a time", max_tokens = 10, temperature = 0.8, seed = 5, n = 3 });
        var alone = _engine.Generate("Once upon a time", new GenerationOptions { MaxNewTokens = 10, DoSample = true, Temperature = 0.8, TopK = 0, Seed = 5, NumReturnSequences = 3 });
        var choices = sampled.GetProperty("choices").EnumerateArray().ToList();
        Assert.AreEqual(3, choices.Count);
        for (int j = 0; j < 3; j++)
        {
            Assert.AreEqual(j, choices[j].GetProperty("index").GetInt32());
            Assert.AreEqual(alone[j].Text, choices[j].GetProperty("text").GetString(), $"choice {j}");
        }
        Assert.AreEqual("text_completion", sampled.GetProperty("object").GetString());
        Assert.AreEqual(PromptTokens("Once upon a time"), sampled.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.AreEqual(alone.Sum(a => a.TokenIds.Count), sampled.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // Greedy with n = 2 gives two copies; a list of prompts gives n choices per prompt, in order; echo prepends the prompt.
        var listed = await Complete(new { model = _server.ModelId, prompt = new[] { "Hello", "The weather today" }, max_tokens = 6, temperature = 0, n = 2, echo = true });
        var texts = listed.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()).ToList();
        string hello = "Hello" + _engine.GenerateText("Hello", new GenerationOptions { MaxNewTokens = 6 });
        string weather = "The weather today" + _engine.GenerateText("The weather today", new GenerationOptions { MaxNewTokens = 6 });
        CollectionAssert.AreEqual(new[] { hello, hello, weather, weather }, texts);

        // A prompt of token ids.
        int[] ids = [464, 2068, 7586, 21831];
        var tokens = await Complete(new { prompt = ids, max_tokens = 8, temperature = 0 });
        var fromIds = _engine.GenerateTokens(ids, new GenerationOptions { MaxNewTokens = 8 })[0];
        Assert.AreEqual(fromIds.Text, tokens.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.AreEqual(fromIds.FinishReason == FinishReason.Length ? "length" : "stop", tokens.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [TestMethod]
    public async Task CompletionStreaming_IsServerSentEvents_WithWholeCharactersAndDone()
    {
        using var http = TestModels.Http(_server);
        var body = new { model = _server.ModelId, prompt = "Zürich, Genève and 東京:", max_tokens = 40, temperature = 1.0, seed = 3, n = 2, stream = true, stream_options = new { include_usage = true } };
        using var response = await http.PostAsync("v1/completions", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.AreEqual("no-cache", response.Headers.CacheControl!.ToString());
        byte[] raw = await response.Content.ReadAsByteArrayAsync();
        string sse = JsonBody.StrictUtf8.GetString(raw); // throws on a split or invalid UTF-8 sequence
        var events = sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual("data: [DONE]", events[^1]);
        var texts = new[] { new StringBuilder(), new StringBuilder() };
        var finish = new string?[2];
        JsonElement? usage = null;
        foreach (var e in events[..^1])
        {
            StringAssert.StartsWith(e, "data: {");
            var chunk = JsonDocument.Parse(e["data: ".Length..]).RootElement;
            Assert.AreEqual("text_completion", chunk.GetProperty("object").GetString());
            if (chunk.GetProperty("usage").ValueKind == JsonValueKind.Object) { usage = chunk.GetProperty("usage").Clone(); continue; }
            var choice = chunk.GetProperty("choices")[0];
            int index = choice.GetProperty("index").GetInt32();
            Assert.IsNull(finish[index], "nothing after a choice's finish_reason");
            string text = choice.GetProperty("text").GetString()!;
            texts[index].Append(text);
            if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String) finish[index] = choice.GetProperty("finish_reason").GetString();
        }
        var alone = _engine.Generate(body.prompt, new GenerationOptions { MaxNewTokens = 40, DoSample = true, TopK = 0, Seed = 3, NumReturnSequences = 2 });
        for (int j = 0; j < 2; j++)
        {
            Assert.AreEqual(alone[j].Text, texts[j].ToString(), $"choice {j}");
            Assert.AreEqual(alone[j].FinishReason == FinishReason.Length ? "length" : "stop", finish[j]);
        }
        Assert.IsNotNull(usage);
        Assert.AreEqual(alone.Sum(a => a.TokenIds.Count), usage.Value.GetProperty("completion_tokens").GetInt32());
    }

    [TestMethod]
    public async Task Models_ListTheServedModel()
    {
        var models = (await _client.GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.AreEqual(1, models.Count);
        Assert.AreEqual(_server.ModelId, models[0].Id);
        Assert.AreEqual("aigc", models[0].OwnedBy);
        Assert.AreEqual(_server.ModelId, (await _client.GetOpenAIModelClient().GetModelAsync(_server.ModelId)).Value.Id);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => _client.GetOpenAIModelClient().GetModelAsync("gpt-4o"));
        Assert.AreEqual(404, missing.Status);
    }

    [TestMethod]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"temperature":3}""", "temperature", null, "'temperature' is 3; expected a number from 0 to 2.")]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature", null, "'temperature' must be a number; found the string \"hot\".")]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"top_p":0}""", "top_p", null, "'top_p' is 0; expected a number above 0 up to 1.")]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"n":9}""", "n", null, "'n' is 9; this server runs at most 4 sequences at once (--max-batch).")]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens", null, "'max_tokens' is 0; expected an integer from 1 to 2147483647.")]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":5000}""", "max_tokens", null, "'max_tokens' is 5000; this server generates at most 1024 tokens per request (--max-tokens).")]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}""", "stop", null, "'stop' holds 5 strings; at most 4 are allowed.")]
    [DataRow("""{"messages":[]}""", "messages", null, "'messages' must be a non-empty array of {\"role\", \"content\"} objects; found an array.")]
    [DataRow("""{"temperature":0}""", "messages", null, "'messages' is required: an array of {\"role\", \"content\"} objects.")]
    [DataRow("""{"messages":[{"role":"tool","content":"42"}]}""", "messages[0].role", null, "'messages[0].role' is 'tool'; this server accepts system, developer, user and assistant messages (no tool messages).")]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}""", "tools", null, "'tools' is not supported: this server serves a base language model without tool calling.")]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""", "stream_options", null, "'stream_options' is only allowed when 'stream' is true.")]
    [DataRow("""{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"99999":5}}""", "logit_bias", null, "'logit_bias' key \"99999\" is not a token id in [0, 50257).")]
    public async Task BadChatRequests_Get400_InTheOpenAIErrorShape(string body, string param, string? code, string message)
    {
        using var http = TestModels.Http(_server);
        using var response = await http.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.AreEqual(message, error.GetProperty("message").GetString());
        Assert.AreEqual("invalid_request_error", error.GetProperty("type").GetString());
        Assert.AreEqual(param, error.GetProperty("param").GetString());
        if (code is null) Assert.AreEqual(JsonValueKind.Null, error.GetProperty("code").ValueKind);
        else Assert.AreEqual(code, error.GetProperty("code").GetString());
    }

    [TestMethod]
    public async Task OtherBadRequests_AreNamedToo()
    {
        using var http = TestModels.Http(_server);
        async Task<(HttpStatusCode, JsonElement)> Post(string path, string body, string type = "application/json")
        {
            using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, type));
            return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").Clone());
        }
        var (status, error) = await Post("v1/completions", "{\"prompt\": \"hi\",");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.StartsWith(error.GetProperty("message").GetString(), "The body is not valid JSON:");
        (status, error) = await Post("v1/completions", "[1,2]");
        Assert.AreEqual("The body must be a JSON object; found a JSON array.", error.GetProperty("message").GetString());
        (status, error) = await Post("v1/completions", "prompt=hi", "application/x-www-form-urlencoded");
        Assert.AreEqual("The body must be JSON (Content-Type: application/json); found 'application/x-www-form-urlencoded; charset=utf-8'.", error.GetProperty("message").GetString());
        (status, error) = await Post("v1/completions", """{"prompt":[464, -1]}""");
        Assert.AreEqual(("prompt", "'prompt[1]' must be a token id in [0, 50257); found the number -1."), (error.GetProperty("param").GetString(), error.GetProperty("message").GetString()));
        (status, error) = await Post("v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":125}""");
        int promptTokens = PromptTokens(ChatTemplate.Render([("user", "hi")]));
        Assert.AreEqual(("messages", "context_length_exceeded",
            $"This model's maximum context length is 128 tokens. However, you requested {promptTokens + 125} tokens ({promptTokens} in the messages, 125 in the completion). Please reduce the length of the messages or completion."),
            (error.GetProperty("param").GetString(), error.GetProperty("code").GetString(), error.GetProperty("message").GetString()));
        (status, error) = await Post("v1/completions", """{"prompt":"hi","logprobs":2}""");
        Assert.AreEqual("logprobs", error.GetProperty("param").GetString());
        (status, error) = await Post("v1/completions", """{"prompt":"hi","model":"gpt-4o"}""");
        Assert.AreEqual(HttpStatusCode.NotFound, status);
        Assert.AreEqual(("model_not_found", $"The model 'gpt-4o' does not exist; this server serves '{_server.ModelId}' (see GET /v1/models)."),
            (error.GetProperty("code").GetString(), error.GetProperty("message").GetString()));
        (status, error) = await Post("v1/embeddings", """{"input":"hi"}""");
        Assert.AreEqual(HttpStatusCode.NotFound, status);
        Assert.AreEqual("unknown_url", error.GetProperty("code").GetString());

        // The official client surfaces the same status and message.
        var e = await Assert.ThrowsAsync<ClientResultException>(() => _client.GetChatClient(_server.ModelId)
            .CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 2.5f }));
        Assert.AreEqual(400, e.Status);
        StringAssert.Contains(e.Message, "'temperature' is 2.5; expected a number from 0 to 2.");
    }

    [TestMethod]
    public async Task HealthAndMetrics_AreServed()
    {
        using var http = TestModels.Http(_server);
        Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync("health/live")).StatusCode);
        using var ready = await http.GetAsync("health/ready");
        Assert.AreEqual(HttpStatusCode.OK, ready.StatusCode);
        Assert.AreEqual("ready", JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());

        await _client.GetChatClient(_server.ModelId).CompleteChatAsync([new UserChatMessage("count me")], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 3 });
        using var metrics = await http.GetAsync("metrics");
        Assert.AreEqual("text/plain", metrics.Content.Headers.ContentType!.MediaType);
        string text = await metrics.Content.ReadAsStringAsync();
        string model = $"model=\"{_server.ModelId}\"";
        double Value(string series) => double.Parse(text.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsTrue(Value("aigc_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"}") >= 1);
        Assert.AreEqual(4, Value($"aigc_batch_max_rows{{{model}}}"));
        Assert.AreEqual(64, Value($"aigc_queue_capacity{{{model}}}"));
        Assert.IsTrue(Value($"aigc_completion_tokens_total{{{model}}}") >= 1);
        Assert.IsTrue(Value($"aigc_decode_row_steps_total{{{model}}}") >= Value($"aigc_decode_steps_total{{{model}}}"));
        double count = Value($"aigc_time_to_first_token_seconds_count{{{model}}}");
        Assert.IsTrue(count >= 1);
        Assert.AreEqual(count, Value($"aigc_time_to_first_token_seconds_bucket{{{model},le=\"+Inf\"}}"));
        StringAssert.Contains(text, "# TYPE aigc_queue_depth gauge");
        StringAssert.Contains(text, "# TYPE aigc_time_to_first_token_seconds histogram");
    }
}
