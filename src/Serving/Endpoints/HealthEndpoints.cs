using Aigc.MLNet.Serving.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Aigc.MLNet.Serving.Endpoints;

/// <summary>
/// Probes for an orchestrator, never behind the API key: <c>GET /health/live</c> is 200 while the process serves HTTP;
/// <c>GET /health/ready</c> is 200 once the model is loaded and 503 from the start of a graceful shutdown, so a load
/// balancer stops sending new requests while the ones in flight finish. <c>GET /metrics</c> is Prometheus text.
/// </summary>
internal static class HealthEndpoints
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    public const string MetricsPath = "/metrics";

    public static void Map(WebApplication app)
    {
        app.MapGet(LivePath, (HttpContext http) => JsonBody.WriteAsync(http.Response, w =>
        {
            w.WriteStartObject();
            w.WriteString("status", "live");
            w.WriteEndObject();
        }));
        app.MapGet(ReadyPath, (HttpContext http, ModelService service) =>
        {
            bool ready = !service.Draining && service.Scheduler.IsAcceptingRequests;
            http.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return JsonBody.WriteAsync(http.Response, w =>
            {
                w.WriteStartObject();
                w.WriteString("status", ready ? "ready" : "draining");
                w.WriteString("model", service.ModelId);
                w.WriteNumber("queue_depth", service.Scheduler.QueueLength);
                w.WriteNumber("batch_rows", service.Scheduler.ActiveRows);
                w.WriteEndObject();
            });
        });
        app.MapGet(MetricsPath, (ModelService service) =>
            Results.Text(service.Metrics.Render(service.Scheduler, service.ModelId), "text/plain; version=0.0.4; charset=utf-8"));
    }
}
