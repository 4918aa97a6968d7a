using System.Buffers;
using System.Text.Json;
using Aigc.MLNet.Serving.Protocol;
using Microsoft.AspNetCore.Http;

namespace Aigc.MLNet.Serving.Endpoints;

/// <summary>Pieces shared by the completion and chat responses.</summary>
internal static class Responses
{
    /// <summary>OpenAI's finish_reason: "stop" for an end-of-sequence token or a stop sequence, "length" at the token limit.</summary>
    public static string FinishReason(Onnx.Generation.FinishReason reason) => reason == Onnx.Generation.FinishReason.Length ? "length" : "stop";

    public static void WriteUsage(Utf8JsonWriter w, long promptTokens, long completionTokens)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", promptTokens);
        w.WriteNumber("completion_tokens", completionTokens);
        w.WriteNumber("total_tokens", promptTokens + completionTokens);
        w.WriteEndObject();
    }

    /// <summary>
    /// Runs a server-sent-event response: starts the stream, lets <paramref name="writeEvents"/> write the chunks, then
    /// <c>data: [DONE]</c>. An error after the stream has started (timeout, model failure) is sent as a last
    /// <c>data: {"error": ...}</c> event without [DONE]; a client that disconnected gets nothing more.
    /// </summary>
    public static async Task StreamAsync(HttpContext http, GenerationRun run, Func<ArrayBufferWriter<byte>, CancellationToken, Task> writeEvents)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        await JsonBody.StartEventsAsync(http.Response).ConfigureAwait(false);
        try
        {
            await writeEvents(buffer, run.Token).ConfigureAwait(false);
            await JsonBody.WriteDoneAsync(http.Response, http.RequestAborted).ConfigureAwait(false);
        }
        catch (OpenAIError e) when (!http.RequestAborted.IsCancellationRequested)
        {
            await JsonBody.WriteEventAsync(http.Response, buffer, e.WriteTo, http.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (run.TimedOut && !http.RequestAborted.IsCancellationRequested)
        {
            var timeout = new OpenAIError(StatusCodes.Status408RequestTimeout,
                "The request did not finish within the server's --request-timeout; its generation was cancelled.", "timeout_error", null, "request_timeout");
            await JsonBody.WriteEventAsync(http.Response, buffer, timeout.WriteTo, http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client left (a cancelled wait or a failed write); disposing the run cancels its rows.
        }
    }
}
