using System.Net;
using System.Security.Cryptography;
using System.Text;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Serving.Endpoints;
using Aigc.MLNet.Serving.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aigc.MLNet.Serving;

/// <summary>
/// An OpenAI-compatible HTTP server for one causal language model (what <c>aigc serve</c> runs), on ASP.NET Core
/// minimal APIs over the engine's <see cref="ContinuousBatchScheduler"/>, so concurrent requests share decode steps.
/// </summary>
/// <remarks>
/// Routes: <c>POST /v1/completions</c>, <c>POST /v1/chat/completions</c> (plain-text <see cref="ChatTemplate"/>),
/// <c>GET /v1/models</c>, <c>GET /health/live</c>, <c>GET /health/ready</c>, <c>GET /metrics</c> (Prometheus text).
/// Errors use the OpenAI shape <c>{"error":{"message","type","param","code"}}</c>: 400 for bad fields and prompts over
/// the limits, 401 without the API key, 404 for another model, 408 on timeout, 413 for a body over the limit, 429 with
/// <c>Retry-After</c> when the queue is full, 503 while shutting down. Stopping the server (Ctrl+C, SIGTERM,
/// <see cref="StopAsync"/>) is graceful: readiness turns 503, new requests are refused, requests in flight finish.
/// </remarks>
public sealed class OpenAIServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ModelService _service;
    private bool _disposed;

    private OpenAIServer(WebApplication app, ModelService service)
    {
        _app = app;
        _service = service;
    }

    /// <summary>The model id clients send and <c>GET /v1/models</c> lists.</summary>
    public string ModelId => _service.ModelId;

    /// <summary>The served model.</summary>
    public CausalLM Model => _service.Model;

    /// <summary>The continuous-batching scheduler generating for every request.</summary>
    public ContinuousBatchScheduler Scheduler => _service.Scheduler;

    /// <summary>The ASP.NET Core application (for hosting tweaks before <see cref="StartAsync"/>).</summary>
    public WebApplication Application => _app;

    /// <summary>The address the server listens on, e.g. <c>http://127.0.0.1:8000/</c> (known after <see cref="StartAsync"/>).</summary>
    public Uri BaseAddress
    {
        get
        {
            var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
            string address = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("The server has not started: call StartAsync first.");
            return new Uri(address.EndsWith('/') ? address : address + "/");
        }
    }

    /// <summary>Loads the model, starts its scheduler and builds the application (not yet listening).</summary>
    /// <param name="options">Server settings; validated here.</param>
    /// <param name="configure">Optional changes to the ASP.NET Core builder (logging, extra services) before it is built.</param>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    /// <exception cref="FileNotFoundException">The model folder holds no model.</exception>
    public static OpenAIServer Create(OpenAIServerOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var service = new ModelService(options);
        try
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton(service); // an instance: the server disposes it after the host
            builder.Services.AddHostedService<DrainOnShutdown>();
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
                if (options.Host == "localhost" && options.Port != 0) kestrel.ListenLocalhost(options.Port);
                else kestrel.Listen(options.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Host), options.Port);
            });
            configure?.Invoke(builder);
            var app = builder.Build();
            app.Lifetime.ApplicationStopping.Register(() => service.Draining = true);
            app.Use(Guard(service));
            var v1 = app.MapGroup("/v1");
            CompletionEndpoints.Map(v1);
            ChatEndpoints.Map(v1);
            ModelEndpoints.Map(v1);
            HealthEndpoints.Map(app);
            app.MapFallback((HttpContext http) => throw new OpenAIError(StatusCodes.Status404NotFound,
                $"Unknown request URL: {http.Request.Method} {http.Request.Path}. Routes: POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET {HealthEndpoints.LivePath}, GET {HealthEndpoints.ReadyPath}, GET {HealthEndpoints.MetricsPath}.",
                "invalid_request_error", null, "unknown_url"));
            return new OpenAIServer(app, service);
        }
        catch
        {
            service.Dispose();
            throw;
        }
    }

    /// <summary>Starts listening.</summary>
    /// <param name="cancellationToken">Aborts the start.</param>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Graceful stop: readiness turns 503, new requests are refused, requests in flight finish (up to the shutdown timeout).</summary>
    /// <param name="cancellationToken">Ends the wait early.</param>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Runs until <paramref name="cancellationToken"/> fires or the process is told to stop (Ctrl+C, SIGTERM), then stops gracefully.</summary>
    /// <param name="cancellationToken">Stops the server.</param>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops the host, then the scheduler and the model.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _app.DisposeAsync().ConfigureAwait(false);
        _service.Dispose();
    }

    /// <summary>
    /// The middleware in front of every route: the API key on /v1, errors in the OpenAI shape (also for failures
    /// Kestrel reports, such as a body over the limit), and the request counters.
    /// </summary>
    private static Func<HttpContext, RequestDelegate, Task> Guard(ModelService service)
    {
        byte[]? keyHash = string.IsNullOrEmpty(service.Options.ApiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(service.Options.ApiKey));
        return async (http, next) =>
        {
            try
            {
                if (keyHash is not null && http.Request.Path.StartsWithSegments("/v1") && !Authorized(http.Request, keyHash))
                    throw new OpenAIError(StatusCodes.Status401Unauthorized,
                        "Missing or wrong API key: send the header 'Authorization: Bearer <key>' with the key the server was started with (--api-key-env).",
                        "invalid_request_error", null, "invalid_api_key");
                await next(http).ConfigureAwait(false);
            }
            catch (OpenAIError e) when (!http.Response.HasStarted)
            {
                await e.WriteResponseAsync(http.Response, e.Status == StatusCodes.Status429TooManyRequests ? service.Options.RetryAfterSeconds : null).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (!http.Response.HasStarted)
            {
                var error = e.StatusCode == StatusCodes.Status413PayloadTooLarge ? JsonBody.TooLarge(http.Request) : new OpenAIError(e.StatusCode, e.Message);
                await error.WriteResponseAsync(http.Response).ConfigureAwait(false);
            }
            catch (Exception) when (http.RequestAborted.IsCancellationRequested)
            {
                // The client disconnected; nothing can be sent.
            }
            catch (Exception e) when (!http.Response.HasStarted)
            {
                await new OpenAIError(StatusCodes.Status500InternalServerError, $"Internal server error: {e.Message}", "server_error").WriteResponseAsync(http.Response).ConfigureAwait(false);
            }
            finally
            {
                string route = http.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern } && !pattern.Contains('*') ? pattern : "unmatched";
                service.Metrics.CountRequest(route, http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted ? 499 : http.Response.StatusCode);
            }
        };
    }

    private static bool Authorized(HttpRequest request, byte[] keyHash)
    {
        string? header = request.Headers.Authorization;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        // Hashes have one length, so the comparison takes the same time whatever the client sent.
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header[7..].Trim())), keyHash);
    }

    /// <summary>Graceful shutdown: stop taking requests and wait for the scheduler to finish the ones it has.</summary>
    private sealed class DrainOnShutdown(ModelService service) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            service.Draining = true;
            try
            {
                await service.Scheduler.DrainAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The shutdown timeout passed; disposing the scheduler ends what is left.
            }
        }
    }
}
