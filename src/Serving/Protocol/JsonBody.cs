using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Aigc.MLNet.Serving.Protocol;

/// <summary>Reads request bodies and writes JSON responses and server-sent events.</summary>
internal static class JsonBody
{
    /// <summary>Non-ASCII text is written as UTF-8 rather than \u escapes, so streamed text reads as sent.</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>Parses the body as one JSON object; refuses other content (400) and bodies over the size limit (413).</summary>
    public static async Task<JsonDocument> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw new OpenAIError(StatusCodes.Status400BadRequest, $"The body must be JSON (Content-Type: application/json); found '{type}'.");
        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(request.Body, default, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new OpenAIError(StatusCodes.Status400BadRequest, $"The body is not valid JSON: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(request);
        }
        var kind = doc.RootElement.ValueKind;
        if (kind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new OpenAIError(StatusCodes.Status400BadRequest, $"The body must be a JSON object; found a JSON {kind.ToString().ToLowerInvariant()}.");
        }
        return doc;
    }

    /// <summary>The 413 error for a body over the limit.</summary>
    public static OpenAIError TooLarge(HttpRequest request)
    {
        long? limit = request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        return new OpenAIError(StatusCodes.Status413PayloadTooLarge,
            $"The request body is larger than the server accepts ({limit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} bytes; see --max-body-bytes).",
            "invalid_request_error", null, "request_too_large");
    }

    /// <summary>Writes a JSON response built by <paramref name="write"/>.</summary>
    public static async Task WriteAsync(HttpResponse response, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions)) write(w);
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
    }

    /// <summary>Starts a server-sent-event stream.</summary>
    public static async Task StartEventsAsync(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // proxies must not hold tokens back
        response.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync().ConfigureAwait(false);
    }

    /// <summary>Writes one <c>data: {json}</c> event and flushes it to the client.</summary>
    public static async Task WriteEventAsync(HttpResponse response, ArrayBufferWriter<byte> buffer, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        buffer.ResetWrittenCount();
        buffer.Write(DataPrefix);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions)) write(w);
        buffer.Write(EventEnd);
        await response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the final <c>data: [DONE]</c> event.</summary>
    public static async Task WriteDoneAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Done, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>UTF-8 without a byte-order mark, throwing on invalid data (used by tests too).</summary>
    public static readonly UTF8Encoding StrictUtf8 = new(false, true);
}
