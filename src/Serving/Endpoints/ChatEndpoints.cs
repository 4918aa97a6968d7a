using System.Text.Json;
using Aigc.MLNet.Serving.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Aigc.MLNet.Serving.Endpoints;

/// <summary>
/// <c>POST /v1/chat/completions</c>: the conversation goes through <see cref="ChatTemplate"/> (plain text for base
/// models) and the model continues it; <see cref="ChatTemplate.TurnStop"/> is added to the stop sequences. Default
/// <c>max_tokens</c>: what the context leaves, at most the server's --max-tokens.
/// </summary>
internal static class ChatEndpoints
{
    public static void Map(RouteGroupBuilder v1) => v1.MapPost("/chat/completions", HandleAsync);

    private static async Task HandleAsync(HttpContext http, ModelService service)
    {
        using var doc = await JsonBody.ReadObjectAsync(http.Request, http.RequestAborted).ConfigureAwait(false);
        var body = doc.RootElement;
        ModelEndpoints.CheckModel(body, service);
        var messages = ChatTemplate.ReadMessages(body);
        var sampling = SamplingRequest.Parse(body, chat: true, service);
        string prompt = ChatTemplate.Render(messages);
        int[] ids = [.. service.Tokenizer.EncodeToIds(prompt)];
        var options = sampling.ForPrompt(ids.Length, service.Options.MaxTokens, service, "messages");
        options.StopSequences = [ChatTemplate.TurnStop, .. options.StopSequences ?? []];

        using var run = GenerationRun.Start(http, service, sampling, [ids], [options]);
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (!sampling.Stream)
        {
            var choices = await run.CompleteAsync().ConfigureAwait(false);
            await JsonBody.WriteAsync(http.Response, w =>
            {
                w.WriteStartObject();
                Head(w, id, created, service.ModelId, "chat.completion");
                w.WriteStartArray("choices");
                foreach (var c in choices)
                {
                    w.WriteStartObject();
                    w.WriteNumber("index", c.Index);
                    w.WriteStartObject("message");
                    w.WriteString("role", "assistant");
                    w.WriteString("content", c.Text);
                    w.WriteEndObject();
                    w.WriteNull("logprobs");
                    w.WriteString("finish_reason", Responses.FinishReason(c.FinishReason));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                Responses.WriteUsage(w, run.PromptTokens, choices.Sum(c => (long)c.TokenCount));
                w.WriteEndObject();
            }).ConfigureAwait(false);
            return;
        }

        await Responses.StreamAsync(http, run, async (buffer, ct) =>
        {
            // Each choice opens with the assistant role, then carries content deltas, then an empty delta with its finish_reason.
            for (int j = 0; j < sampling.N; j++)
                await WriteChunkAsync(j, role: true, "", null).ConfigureAwait(false);
            await foreach (var delta in run.StreamAsync(ct).ConfigureAwait(false))
            {
                if (delta.Text.Length > 0) await WriteChunkAsync(delta.Index, role: false, delta.Text, null).ConfigureAwait(false);
                if (delta.FinishReason is { } reason) await WriteChunkAsync(delta.Index, role: false, null, Responses.FinishReason(reason)).ConfigureAwait(false);
            }
            if (sampling.IncludeUsage)
                await JsonBody.WriteEventAsync(http.Response, buffer, w =>
                {
                    w.WriteStartObject();
                    Head(w, id, created, service.ModelId, "chat.completion.chunk");
                    w.WriteStartArray("choices");
                    w.WriteEndArray();
                    Responses.WriteUsage(w, run.PromptTokens, run.CompletedTokens);
                    w.WriteEndObject();
                }, ct).ConfigureAwait(false);

            Task WriteChunkAsync(int index, bool role, string? content, string? finishReason) =>
                JsonBody.WriteEventAsync(http.Response, buffer, w =>
                {
                    w.WriteStartObject();
                    Head(w, id, created, service.ModelId, "chat.completion.chunk");
                    w.WriteStartArray("choices");
                    w.WriteStartObject();
                    w.WriteNumber("index", index);
                    w.WriteStartObject("delta");
                    if (role) w.WriteString("role", "assistant");
                    if (content is not null) w.WriteString("content", content);
                    w.WriteEndObject();
                    w.WriteNull("logprobs");
                    if (finishReason is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", finishReason);
                    w.WriteEndObject();
                    w.WriteEndArray();
                    if (sampling.IncludeUsage) w.WriteNull("usage");
                    w.WriteEndObject();
                }, ct);
        }).ConfigureAwait(false);
    }

    private static void Head(Utf8JsonWriter w, string id, long created, string model, string kind)
    {
        w.WriteString("id", id);
        w.WriteString("object", kind);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
    }
}
