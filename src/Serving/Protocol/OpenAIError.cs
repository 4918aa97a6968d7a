using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Aigc.MLNet.Serving.Protocol;

/// <summary>
/// A request the server refuses, answered in the OpenAI error shape
/// <c>{"error":{"message","type","param","code"}}</c> with an HTTP status.
/// </summary>
public sealed class OpenAIError : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="status">HTTP status code.</param>
    /// <param name="message">What was wrong and what was expected, for the client's user.</param>
    /// <param name="type">OpenAI error type, e.g. <c>invalid_request_error</c>.</param>
    /// <param name="param">The request field at fault, or null.</param>
    /// <param name="code">A machine-readable code, or null.</param>
    public OpenAIError(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null) : base(message)
    {
        Status = status;
        Type = type;
        Param = param;
        Code = code;
    }

    /// <summary>HTTP status code.</summary>
    public int Status { get; }

    /// <summary>OpenAI error type.</summary>
    public string Type { get; }

    /// <summary>The request field at fault, or null.</summary>
    public string? Param { get; }

    /// <summary>A machine-readable code, or null.</summary>
    public string? Code { get; }

    /// <summary>A 400 for a request field: names the field and what it expects.</summary>
    internal static OpenAIError BadField(string param, string message, string? code = null) => new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    /// <summary>Writes the error object (used for responses and for errors inside a stream).</summary>
    internal void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", Message);
        w.WriteString("type", Type);
        if (Param is null) w.WriteNull("param"); else w.WriteString("param", Param);
        if (Code is null) w.WriteNull("code"); else w.WriteString("code", Code);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Writes the error as the whole response (when nothing has been sent yet).</summary>
    internal async Task WriteResponseAsync(HttpResponse response, int? retryAfterSeconds = null)
    {
        response.StatusCode = Status;
        if (retryAfterSeconds is int seconds) response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Status == StatusCodes.Status401Unauthorized) response.Headers.WWWAuthenticate = "Bearer";
        await JsonBody.WriteAsync(response, WriteTo).ConfigureAwait(false);
    }
}
