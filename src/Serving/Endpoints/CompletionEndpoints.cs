using System.Buffers;
using System.Text.Json;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Serving.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Aigc.MLNet.Serving.Endpoints;

/// <summary>
/// <c>POST /v1/completions</c> (OpenAI legacy completions): <c>prompt</c> as a string, an array of strings, an array of
/// token ids or an array of such arrays; <c>echo</c> prepends the prompt; default <c>max_tokens</c> 16, as in the OpenAI API.
/// </summary>
internal static class CompletionEndpoints
{
    private const int DefaultMaxTokens = 16;

    public static void Map(RouteGroupBuilder v1) => v1.MapPost("/completions", HandleAsync);

    private static async Task HandleAsync(HttpContext http, ModelService service)
    {
        using var doc = await JsonBody.ReadObjectAsync(http.Request, http.RequestAborted).ConfigureAwait(false);
        var body = doc.RootElement;
        ModelEndpoints.CheckModel(body, service);
        var sampling = SamplingRequest.Parse(body, chat: false, service);
        var prompts = ReadPrompts(body, service);
        bool echo = RequestFields.Boolean(body, "echo") ?? false;
        var options = prompts.Select((p, i) => sampling.ForPrompt(p.Ids.Length, DefaultMaxTokens, service, prompts.Count > 1 ? $"prompt[{i}]" : "prompt")).ToArray();

        using var run = GenerationRun.Start(http, service, sampling, [.. prompts.Select(p => p.Ids)], options);
        string id = "cmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (!sampling.Stream)
        {
            var choices = await run.CompleteAsync().ConfigureAwait(false);
            await JsonBody.WriteAsync(http.Response, w =>
            {
                w.WriteStartObject();
                Head(w, id, created, service.ModelId);
                w.WriteStartArray("choices");
                foreach (var c in choices)
                    WriteChoice(w, c.Index, echo ? prompts[c.Index / sampling.N].Text + c.Text : c.Text, Responses.FinishReason(c.FinishReason));
                w.WriteEndArray();
                Responses.WriteUsage(w, run.PromptTokens, choices.Sum(c => (long)c.TokenCount));
                w.WriteEndObject();
            }).ConfigureAwait(false);
            return;
        }

        await Responses.StreamAsync(http, run, async (buffer, ct) =>
        {
            var echoed = new HashSet<int>();
            await foreach (var delta in run.StreamAsync(ct).ConfigureAwait(false))
            {
                string text = delta.Text;
                if (echo && echoed.Add(delta.Index)) text = prompts[delta.Index / sampling.N].Text + text;
                await JsonBody.WriteEventAsync(http.Response, buffer, w =>
                {
                    w.WriteStartObject();
                    Head(w, id, created, service.ModelId);
                    w.WriteStartArray("choices");
                    WriteChoice(w, delta.Index, text, delta.FinishReason is { } r ? Responses.FinishReason(r) : null);
                    w.WriteEndArray();
                    if (sampling.IncludeUsage) w.WriteNull("usage");
                    w.WriteEndObject();
                }, ct).ConfigureAwait(false);
            }
            if (sampling.IncludeUsage)
                await JsonBody.WriteEventAsync(http.Response, buffer, w =>
                {
                    w.WriteStartObject();
                    Head(w, id, created, service.ModelId);
                    w.WriteStartArray("choices");
                    w.WriteEndArray();
                    Responses.WriteUsage(w, run.PromptTokens, run.CompletedTokens);
                    w.WriteEndObject();
                }, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    private static void Head(Utf8JsonWriter w, string id, long created, string model)
    {
        w.WriteString("id", id);
        w.WriteString("object", "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
    }

    private static void WriteChoice(Utf8JsonWriter w, int index, string text, string? finishReason)
    {
        w.WriteStartObject();
        w.WriteNumber("index", index);
        w.WriteString("text", text);
        w.WriteNull("logprobs");
        if (finishReason is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", finishReason);
        w.WriteEndObject();
    }

    /// <summary>The prompts as token ids, with their text (for <c>echo</c>).</summary>
    private static List<(int[] Ids, string Text)> ReadPrompts(JsonElement body, ModelService service)
    {
        if (!RequestFields.TryGet(body, "prompt", out var prompt))
            throw OpenAIError.BadField("prompt", "'prompt' is required: a string, an array of strings, an array of token ids, or an array of token-id arrays.");
        var tokenizer = service.Tokenizer;
        var list = new List<(int[], string)>();
        if (prompt.ValueKind == JsonValueKind.String)
        {
            string text = prompt.GetString()!;
            list.Add(([.. tokenizer.EncodeToIds(text)], text));
        }
        else if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() > 0)
        {
            var first = prompt[0];
            if (first.ValueKind == JsonValueKind.Number)
                list.Add(TokenIds(prompt, "prompt", service));
            else
            {
                int i = 0;
                foreach (var item in prompt.EnumerateArray())
                {
                    string at = $"prompt[{i++}]";
                    if (item.ValueKind == JsonValueKind.String) list.Add(([.. tokenizer.EncodeToIds(item.GetString()!)], item.GetString()!));
                    else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() > 0) list.Add(TokenIds(item, at, service));
                    else throw OpenAIError.BadField(at, $"'{at}' must be a string or a non-empty array of token ids; found {RequestFields.Describe(item)}.");
                }
            }
        }
        else throw OpenAIError.BadField("prompt", $"'prompt' must be a string, an array of strings, an array of token ids, or an array of token-id arrays; found {RequestFields.Describe(prompt)}.");

        int most = service.Options.MaxBatchSize + service.Options.MaxQueueLength;
        if (list.Count > most)
            throw OpenAIError.BadField("prompt", $"'prompt' holds {list.Count} prompts; this server takes at most {most} in one request (--max-batch + --max-queue).");
        return list;
    }

    private static (int[], string) TokenIds(JsonElement array, string at, ModelService service)
    {
        int vocab = service.Model.Config.VocabSize;
        var ids = new int[array.GetArrayLength()];
        int j = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int id) || id < 0 || (vocab > 0 && id >= vocab))
                throw OpenAIError.BadField(at, $"'{at}[{j}]' must be a token id in [0, {vocab}); found {RequestFields.Describe(item)}.");
            ids[j++] = id;
        }
        return (ids, service.Tokenizer.Decode(ids) ?? "");
    }
}
