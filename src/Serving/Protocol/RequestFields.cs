using System.Globalization;
using System.Text.Json;

namespace Aigc.MLNet.Serving.Protocol;

/// <summary>Typed reads of request fields: a JSON null counts as absent; a wrong type or range is a 400 naming the field.</summary>
internal static class RequestFields
{
    public static bool TryGet(JsonElement body, string name, out JsonElement value)
    {
        if (body.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null) return true;
        value = default;
        return false;
    }

    public static double? Number(JsonElement body, string name, double min, double max, bool minExclusive = false)
    {
        if (!TryGet(body, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double x) || !double.IsFinite(x))
            throw OpenAIError.BadField(name, $"'{name}' must be a number; found {Describe(v)}.");
        if (x > max || (minExclusive ? x <= min : x < min))
            throw OpenAIError.BadField(name, string.Create(CultureInfo.InvariantCulture,
                $"'{name}' is {x}; expected a number {(minExclusive ? "above" : "from")} {min} {(minExclusive ? "up " : "")}to {max}."));
        return x;
    }

    public static long? Integer(JsonElement body, string name, long min, long max)
    {
        if (!TryGet(body, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x))
            throw OpenAIError.BadField(name, $"'{name}' must be an integer; found {Describe(v)}.");
        if (x < min || x > max)
            throw OpenAIError.BadField(name, string.Create(CultureInfo.InvariantCulture, $"'{name}' is {x}; expected an integer from {min} to {max}."));
        return x;
    }

    public static bool? Boolean(JsonElement body, string name)
    {
        if (!TryGet(body, name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw OpenAIError.BadField(name, $"'{name}' must be true or false; found {Describe(v)}."),
        };
    }

    public static string? String(JsonElement body, string name)
    {
        if (!TryGet(body, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw OpenAIError.BadField(name, $"'{name}' must be a string; found {Describe(v)}.");
        return v.GetString();
    }

    /// <summary><c>stop</c>: a string or an array of up to 4 non-empty strings.</summary>
    public static string[]? Stop(JsonElement body)
    {
        const string name = "stop";
        if (!TryGet(body, name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.String)
        {
            string s = v.GetString()!;
            if (s.Length == 0) throw OpenAIError.BadField(name, "'stop' must not be an empty string.");
            return [s];
        }
        if (v.ValueKind != JsonValueKind.Array)
            throw OpenAIError.BadField(name, $"'stop' must be a string or an array of up to 4 strings; found {Describe(v)}.");
        var stops = new List<string>();
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 } s)
                throw OpenAIError.BadField(name, $"'stop[{stops.Count}]' must be a non-empty string; found {Describe(item)}.");
            stops.Add(s);
        }
        if (stops.Count > 4) throw OpenAIError.BadField(name, $"'stop' holds {stops.Count} strings; at most 4 are allowed.");
        return stops.Count == 0 ? null : [.. stops];
    }

    /// <summary>A short description of a JSON value for error messages.</summary>
    public static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(v.GetString()!)}\"",
        JsonValueKind.Number => $"the number {v.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
