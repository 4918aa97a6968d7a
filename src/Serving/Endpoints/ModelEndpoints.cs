using System.Text.Json;
using Aigc.MLNet.Serving.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Aigc.MLNet.Serving.Endpoints;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: the one model this server serves.</summary>
internal static class ModelEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/models", (HttpContext http, ModelService service) => JsonBody.WriteAsync(http.Response, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            WriteModel(w, service);
            w.WriteEndArray();
            w.WriteEndObject();
        }));
        v1.MapGet("/models/{id}", (HttpContext http, ModelService service, string id) =>
        {
            if (id != service.ModelId) throw NotFound(id, service, "id");
            return JsonBody.WriteAsync(http.Response, w => WriteModel(w, service));
        });
    }

    /// <summary>A request's <c>model</c>, when given, must name the served model (404 otherwise, as the OpenAI API answers).</summary>
    public static void CheckModel(JsonElement body, ModelService service)
    {
        if (RequestFields.String(body, "model") is { } model && model != service.ModelId) throw NotFound(model, service, "model");
    }

    private static OpenAIError NotFound(string model, ModelService service, string param) => new(StatusCodes.Status404NotFound,
        $"The model '{model}' does not exist; this server serves '{service.ModelId}' (see GET /v1/models).", "invalid_request_error", param, "model_not_found");

    private static void WriteModel(Utf8JsonWriter w, ModelService service)
    {
        w.WriteStartObject();
        w.WriteString("id", service.ModelId);
        w.WriteString("object", "model");
        w.WriteNumber("created", service.Created);
        w.WriteString("owned_by", "aigc");
        if (service.ContextLength is int context) w.WriteNumber("max_model_len", context);
        w.WriteEndObject();
    }
}
