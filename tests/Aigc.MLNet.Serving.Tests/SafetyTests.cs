using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;

namespace Aigc.MLNet.Serving.Tests;

/// <summary>Bad input and load: API key, a full queue, timeouts, client disconnects, body size, graceful shutdown, loopback binding.</summary>
[TestClass]
public sealed class SafetyTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>A long greedy completion on the slow model (1,000 tokens through a 50,257 × 64 output layer): still running while the test acts.</summary>
    private static object LongCompletion(bool stream = false) => new { prompt = "a", max_tokens = 1000, temperature = 0, ignore_eos = true, stream };

    private static async Task<JsonElement> Error(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").Clone();

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"Timed out waiting until {what}.");
            await Task.Delay(5);
        }
    }

    [TestMethod]
    public async Task ApiKey_IsRequiredOnV1_ButNotOnProbes()
    {
        await using var server = await TestModels.StartServerAsync(TestModels.Tiny, o => o.ApiKey = "test-key-123");
        var wrong = await Assert.ThrowsAsync<ClientResultException>(() => TestModels.Client(server, "wrong-key").GetChatClient(server.ModelId)
            .CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2 }));
        Assert.AreEqual(401, wrong.Status);
        StringAssert.Contains(wrong.Message, "Missing or wrong API key");

        using var http = TestModels.Http(server);
        using var bare = await http.PostAsync("v1/chat/completions", Json(new { messages = new[] { new { role = "user", content = "hi" } } }));
        Assert.AreEqual(HttpStatusCode.Unauthorized, bare.StatusCode);
        Assert.AreEqual("Bearer", bare.Headers.WwwAuthenticate.Single().Scheme);
        var error = await Error(bare);
        Assert.AreEqual(("invalid_request_error", "invalid_api_key"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        Assert.AreEqual(HttpStatusCode.Unauthorized, (await http.GetAsync("v1/models")).StatusCode);

        ChatCompletion ok = await TestModels.Client(server, "test-key-123").GetChatClient(server.ModelId)
            .CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 2 });
        Assert.IsTrue(ok.Usage.OutputTokenCount is > 0 and <= 2);
        Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync("health/live")).StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync("health/ready")).StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync("metrics")).StatusCode);
    }

    [TestMethod]
    public async Task AFullQueue_Answers429WithRetryAfter_AndADisconnectedClientFreesItsRow()
    {
        await using var server = await TestModels.StartServerAsync(TestModels.Slow, o => { o.MaxBatchSize = 1; o.MaxQueueLength = 0; o.RetryAfterSeconds = 2; });
        using var http = TestModels.Http(server);
        using var running = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = Json(LongCompletion(stream: true)) };
        var streaming = await http.SendAsync(running, HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await streaming.Content.ReadAsStreamAsync());
        StringAssert.StartsWith(await reader.ReadLineAsync(), "data: {");
        Assert.AreEqual(1, server.Scheduler.ActiveRows);

        using var refused = await http.PostAsync("v1/completions", Json(new { prompt = "b", max_tokens = 5 }));
        Assert.AreEqual(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.AreEqual(TimeSpan.FromSeconds(2), refused.Headers.RetryAfter!.Delta);
        var error = await Error(refused);
        Assert.AreEqual(("rate_limit_error", "rate_limit_exceeded"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        StringAssert.Contains(error.GetProperty("message").GetString(), "The server is busy");
        var viaClient = await Assert.ThrowsAsync<ClientResultException>(() => TestModels.Client(server).GetChatClient(server.ModelId)
            .CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2 }));
        Assert.AreEqual(429, viaClient.Status);

        // The client of the running request leaves: its row is cancelled at the next step boundary and freed.
        streaming.Dispose();
        await WaitUntil(() => server.Scheduler.ActiveRows == 0 && server.Scheduler.RequestCounts.Cancelled == 1, "the abandoned row is freed");
        Assert.IsTrue(server.Scheduler.GeneratedTokens < 1000, $"{server.Scheduler.GeneratedTokens} tokens: the row should stop early");
        using var after = await http.PostAsync("v1/completions", Json(new { prompt = "b", max_tokens = 5, temperature = 0, ignore_eos = true }));
        Assert.AreEqual(HttpStatusCode.OK, after.StatusCode);
        Assert.AreEqual(5, JsonDocument.Parse(await after.Content.ReadAsStringAsync()).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        string metrics = await http.GetStringAsync("metrics");
        StringAssert.Contains(metrics, "aigc_requests_rejected_total{reason=\"queue_full\"} 2\n");
        StringAssert.Contains(metrics, "aigc_http_requests_total{route=\"/v1/completions\",status=\"429\"} 1\n");
    }

    [TestMethod]
    public async Task CancellingAStreamMidway_WithTheOfficialClient_FreesTheRow()
    {
        await using var server = await TestModels.StartServerAsync(TestModels.Slow);
        var chat = TestModels.Client(server).GetChatClient(server.ModelId);
        using var cts = new CancellationTokenSource();
        int updates = 0;
        await Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Tell me a long story.")],
                new ChatCompletionOptions { MaxOutputTokenCount = 900, Temperature = 0 }, cts.Token))
            {
                if (update.ContentUpdate.Count > 0 && ++updates == 3) cts.Cancel();
            }
        });
        Assert.AreEqual(3, updates);
        await WaitUntil(() => server.Scheduler.ActiveRows == 0 && server.Scheduler.RequestCounts.Cancelled == 1, "the cancelled row is freed");
        ChatCompletion next = await chat.CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 3 });
        Assert.IsTrue(next.Usage.OutputTokenCount is > 0 and <= 3);
    }

    [TestMethod]
    public async Task ARequestOverTheTimeout_Gets408_AndItsRowIsFreed()
    {
        await using var server = await TestModels.StartServerAsync(TestModels.Slow, o => o.RequestTimeout = TimeSpan.FromMilliseconds(100));
        using var http = TestModels.Http(server);
        using var response = await http.PostAsync("v1/completions", Json(LongCompletion()));
        Assert.AreEqual(HttpStatusCode.RequestTimeout, response.StatusCode);
        var error = await Error(response);
        Assert.AreEqual(("timeout_error", "request_timeout"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        StringAssert.Contains(error.GetProperty("message").GetString(), "within 0.1 s");

        // Streamed: the stream ends with an error event and no [DONE].
        using var streamed = await http.PostAsync("v1/completions", Json(LongCompletion(stream: true)));
        Assert.AreEqual(HttpStatusCode.OK, streamed.StatusCode);
        var events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        StringAssert.StartsWith(events[^1], "data: {\"error\":");
        Assert.AreEqual("request_timeout", JsonDocument.Parse(events[^1][6..]).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.IsFalse(events.Contains("data: [DONE]"));
        await WaitUntil(() => server.Scheduler.ActiveRows == 0 && server.Scheduler.RequestCounts.Cancelled == 2, "both rows are freed");
    }

    [TestMethod]
    public async Task ABodyOverTheLimit_Gets413()
    {
        await using var server = await TestModels.StartServerAsync(TestModels.Tiny, o => o.MaxRequestBodyBytes = 2048);
        using var http = TestModels.Http(server);
        using var response = await http.PostAsync("v1/completions", Json(new { prompt = new string('x', 5000), max_tokens = 1 }));
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var error = await Error(response);
        Assert.AreEqual(("request_too_large", "The request body is larger than the server accepts (2048 bytes; see --max-body-bytes)."),
            (error.GetProperty("code").GetString(), error.GetProperty("message").GetString()));
        using var small = await http.PostAsync("v1/completions", Json(new { prompt = "x", max_tokens = 1 }));
        Assert.AreEqual(HttpStatusCode.OK, small.StatusCode);
    }

    [TestMethod]
    public async Task PromptsOverTheServersLimit_Get400()
    {
        await using var server = await TestModels.StartServerAsync(TestModels.Tiny, o => { o.MaxPromptTokens = 5; o.MaxTokens = 8; });
        using var http = TestModels.Http(server);
        using var response = await http.PostAsync("v1/completions", Json(new { prompt = new[] { 1, 2, 3, 4, 5, 6 }, max_tokens = 2 }));
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await Error(response);
        Assert.AreEqual(("prompt", "context_length_exceeded", "The prompt has 6 tokens; this server accepts at most 5 (--max-prompt-tokens)."),
            (error.GetProperty("param").GetString(), error.GetProperty("code").GetString(), error.GetProperty("message").GetString()));
        using var tooMany = await http.PostAsync("v1/completions", Json(new { prompt = new[] { 1, 2 }, max_tokens = 9 }));
        Assert.AreEqual("'max_tokens' is 9; this server generates at most 8 tokens per request (--max-tokens).", (await Error(tooMany)).GetProperty("message").GetString());
        using var fits = await http.PostAsync("v1/completions", Json(new { prompt = new[] { 1, 2 }, temperature = 0, ignore_eos = true, max_tokens = 8 }));
        Assert.AreEqual(8, JsonDocument.Parse(await fits.Content.ReadAsStringAsync()).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [TestMethod]
    public async Task GracefulShutdown_FinishesRequestsInFlight_AndTurnsReadinessOff()
    {
        var server = await TestModels.StartServerAsync(TestModels.Slow);
        try
        {
            using var http = TestModels.Http(server);
            var inFlight = http.PostAsync("v1/completions", Json(new { prompt = "a", max_tokens = 300, temperature = 0, ignore_eos = true }));
            await WaitUntil(() => server.Scheduler.ActiveRows == 1, "the request runs");
            var stopping = server.StopAsync();
            await WaitUntil(() => !server.Scheduler.IsAcceptingRequests, "the scheduler drains");
            using var response = await inFlight.WaitAsync(Wait);
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.AreEqual(300, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.AreEqual("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            await stopping.WaitAsync(Wait);
            Assert.AreEqual((1L, 0L, 0L), server.Scheduler.RequestCounts);
            await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("health/live"));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task TheServer_BindsToLoopbackByDefault_AndChecksItsSettings()
    {
        Assert.AreEqual("127.0.0.1", new OpenAIServerOptions().Host);
        await using (var server = await TestModels.StartServerAsync(TestModels.Tiny))
        {
            Assert.AreEqual("127.0.0.1", server.BaseAddress.Host);
            Assert.AreEqual("tiny", server.ModelId);
        }
        void Bad(Action<OpenAIServerOptions> change, string message)
        {
            var options = new OpenAIServerOptions { ModelPath = TestModels.Tiny };
            change(options);
            StringAssert.Contains(Assert.Throws<ArgumentException>(options.Validate).Message, message);
        }
        Bad(o => o.Host = "example.com", "Host is 'example.com': expected an IP address (127.0.0.1, 0.0.0.0, ::1, ::) or localhost.");
        Bad(o => o.Port = 70000, "Port must be between 0 (any free port) and 65535.");
        Bad(o => o.MaxBatchSize = 0, "MaxBatchSize must be at least 1.");
        Bad(o => o.ModelPath = "", "ModelPath is required");
        var missing = Assert.Throws<FileNotFoundException>(() => OpenAIServer.Create(new OpenAIServerOptions { ModelPath = "/no/such/model", Port = 0 }));
        StringAssert.Contains(missing.Message, "'/no/such/model' does not exist");
    }
}
