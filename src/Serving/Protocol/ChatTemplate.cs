using System.Text;
using System.Text.Json;

namespace Aigc.MLNet.Serving.Protocol;

/// <summary>
/// The plain-text chat template for base models, which have none of their own. Each message becomes one
/// <c>Role: content</c> line (System, User, Assistant; a <c>developer</c> message counts as System), and the prompt ends
/// with <c>Assistant:</c> for the model to continue:
/// <code>
/// System: You are terse.
/// User: Hello
/// Assistant:
/// </code>
/// Generation also stops at <c>"\nUser:"</c> (the model starting the user's next turn), besides the request's own stops.
/// </summary>
public static class ChatTemplate
{
    /// <summary>The stop sequence every chat request gets: a new line starting the user's next turn.</summary>
    public const string TurnStop = "\nUser:";

    /// <summary>Renders a conversation given as (role, content) pairs.</summary>
    /// <param name="messages">Roles system, developer, user or assistant, with their text.</param>
    public static string Render(IEnumerable<(string Role, string Content)> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var sb = new StringBuilder();
        foreach (var (role, content) in messages)
            sb.Append(Label(role)).Append(": ").Append(content).Append('\n');
        return sb.Append("Assistant:").ToString();
    }

    private static string Label(string role) => role switch
    {
        "system" or "developer" => "System",
        "user" => "User",
        "assistant" => "Assistant",
        _ => throw new ArgumentException($"Unknown chat role '{role}': expected system, developer, user or assistant.", nameof(role)),
    };

    /// <summary>Reads the request's <c>messages</c> array, checking each message.</summary>
    internal static List<(string Role, string Content)> ReadMessages(JsonElement body)
    {
        if (!RequestFields.TryGet(body, "messages", out var messages))
            throw OpenAIError.BadField("messages", "'messages' is required: an array of {\"role\", \"content\"} objects.");
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw OpenAIError.BadField("messages", $"'messages' must be a non-empty array of {{\"role\", \"content\"}} objects; found {RequestFields.Describe(messages)}.");
        var list = new List<(string, string)>();
        int i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            string at = $"messages[{i}]";
            if (m.ValueKind != JsonValueKind.Object)
                throw OpenAIError.BadField(at, $"'{at}' must be an object with 'role' and 'content'; found {RequestFields.Describe(m)}.");
            string role = RequestFields.String(m, "role") is { } r ? r : throw OpenAIError.BadField($"{at}.role", $"'{at}.role' is required.");
            if (role is not ("system" or "developer" or "user" or "assistant"))
                throw OpenAIError.BadField($"{at}.role", $"'{at}.role' is '{role}'; this server accepts system, developer, user and assistant messages (no tool messages).");
            list.Add((role, Content(m, at)));
            i++;
        }
        return list;
    }

    private static string Content(JsonElement message, string at)
    {
        if (!RequestFields.TryGet(message, "content", out var content))
            throw OpenAIError.BadField($"{at}.content", $"'{at}.content' is required (tool calls are not supported).");
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array)
            throw OpenAIError.BadField($"{at}.content", $"'{at}.content' must be a string or an array of text parts; found {RequestFields.Describe(content)}.");
        var sb = new StringBuilder();
        int j = 0;
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || RequestFields.String(part, "type") != "text" || RequestFields.String(part, "text") is not { } text)
                throw OpenAIError.BadField($"{at}.content[{j}]", $"'{at}.content[{j}]' must be {{\"type\": \"text\", \"text\": ...}}; this model reads text only.");
            sb.Append(text);
            j++;
        }
        return sb.ToString();
    }
}
