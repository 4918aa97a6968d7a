using System.Net;

namespace Aigc.MLNet.Serving;

/// <summary>Settings of an <see cref="OpenAIServer"/>; the flags of <c>aigc serve</c> map one to one onto them.</summary>
public sealed class OpenAIServerOptions
{
    /// <summary>The model folder (or .onnx file) to serve; it needs tokenizer files beside it. Required.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>The model id clients send and <c>GET /v1/models</c> lists; null uses the folder's name (its parent's for a folder named <c>onnx</c>).</summary>
    public string? ModelId { get; set; }

    /// <summary>Address to bind: an IP address or <c>localhost</c>; default 127.0.0.1 (loopback only). Use 0.0.0.0 in a container.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="OpenAIServer.BaseAddress"/>). Default 8000.</summary>
    public int Port { get; set; } = 8000;

    /// <summary>Rows decoded together by the continuous-batching scheduler (a request with <c>n</c> &gt; 1 takes n rows). Default 8.</summary>
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>Requests waiting for rows; one more is answered 429 with <c>Retry-After</c>. Default 64.</summary>
    public int MaxQueueLength { get; set; } = 64;

    /// <summary>Bearer key clients must send (<c>Authorization: Bearer KEY</c>) on <c>/v1/*</c>; null or empty serves without a key.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Most prompt tokens per prompt (and per chat conversation); null allows up to the model's context.</summary>
    public int? MaxPromptTokens { get; set; }

    /// <summary>Most tokens a request may ask to generate (<c>max_tokens</c>); also the chat default when a request sets none. Default 1024.</summary>
    public int MaxTokens { get; set; } = 1024;

    /// <summary>A request still running after this long is cancelled (its rows freed) and answered 408 (or ends its stream with an error). Default 5 minutes.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Largest request body accepted; larger ones get 413. Default 1 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>Seconds a client is told to wait (<c>Retry-After</c>) after a 429. Default 1.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>How long a graceful shutdown waits for requests in flight to finish. Default 30 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose.</summary>
    public int IntraOpNumThreads { get; set; }

    /// <summary>Checks every setting and throws naming the first invalid one and what it expects.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelPath))
            throw new ArgumentException($"{nameof(ModelPath)} is required: a model folder (or .onnx file) with tokenizer files beside it.", nameof(ModelPath));
        if (ModelId is { } id && string.IsNullOrWhiteSpace(id))
            throw new ArgumentException($"{nameof(ModelId)} must not be blank (or leave it null to use the folder's name).", nameof(ModelId));
        if (string.IsNullOrWhiteSpace(Host) || (Host != "localhost" && !IPAddress.TryParse(Host, out _)))
            throw new ArgumentException($"{nameof(Host)} is '{Host}': expected an IP address (127.0.0.1, 0.0.0.0, ::1, ::) or localhost.", nameof(Host));
        if (Port is < 0 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(Port), Port, $"{nameof(Port)} must be between 0 (any free port) and 65535.");
        if (MaxBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, $"{nameof(MaxBatchSize)} must be at least 1.");
        if (MaxQueueLength < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxQueueLength), MaxQueueLength, $"{nameof(MaxQueueLength)} must be 0 or more.");
        if (MaxPromptTokens is int prompt && prompt < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxPromptTokens), prompt, $"{nameof(MaxPromptTokens)} must be at least 1 (or null for the model's context).");
        if (MaxTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, $"{nameof(MaxTokens)} must be at least 1.");
        if (RequestTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, $"{nameof(RequestTimeout)} must be positive.");
        if (MaxRequestBodyBytes < 1024)
            throw new ArgumentOutOfRangeException(nameof(MaxRequestBodyBytes), MaxRequestBodyBytes, $"{nameof(MaxRequestBodyBytes)} must be at least 1024 bytes.");
        if (RetryAfterSeconds < 1)
            throw new ArgumentOutOfRangeException(nameof(RetryAfterSeconds), RetryAfterSeconds, $"{nameof(RetryAfterSeconds)} must be at least 1.");
        if (ShutdownTimeout < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ShutdownTimeout), ShutdownTimeout, $"{nameof(ShutdownTimeout)} must be 0 or more.");
        if (IntraOpNumThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(IntraOpNumThreads), IntraOpNumThreads, $"{nameof(IntraOpNumThreads)} must be 0 (ONNX Runtime's choice) or more.");
    }
}
