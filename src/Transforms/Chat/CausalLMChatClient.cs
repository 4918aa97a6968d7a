using System.Runtime.CompilerServices;
using System.Text;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Microsoft.Extensions.AI;

namespace Aigc.MLNet.Transforms.Chat;

/// <summary>
/// A <see cref="IChatClient"/> over a causal language model folder, so that code written against
/// Microsoft.Extensions.AI can use the models this library serves. <see cref="ChatOptions"/> map to
/// <see cref="GenerationOptions"/>: MaxOutputTokens → MaxNewTokens, Temperature (0 = greedy, otherwise sampling),
/// TopP, TopK, StopSequences, Seed.
/// </summary>
/// <remarks>
/// GPT-2-style models have no chat template. By default a conversation holding one user message is sent as that text
/// (plain completion); longer conversations become "Role: text" lines followed by "Assistant:". Set
/// <see cref="PromptFormatter"/> for another format.
/// </remarks>
public sealed class CausalLMChatClient : IChatClient
{
    private readonly CausalLM _model;
    private readonly TextGenerator _generator;
    private readonly bool _ownsModel;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Loads a model folder (or .onnx file) and owns it.</summary>
    /// <param name="modelPath">Model folder or .onnx file with tokenizer files beside it.</param>
    /// <param name="options">Session options; null for CPU defaults.</param>
    public CausalLMChatClient(string modelPath, CausalLMOptions? options = null)
        : this(CausalLM.Load(modelPath, options), ownsModel: true)
    {
    }

    /// <summary>Wraps a loaded model.</summary>
    /// <param name="model">The model; it must have a tokenizer.</param>
    /// <param name="ownsModel">Whether disposing the client disposes the model.</param>
    public CausalLMChatClient(CausalLM model, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _ownsModel = ownsModel;
        _generator = new TextGenerator(model);
        if (_generator.Tokenizer is null)
            throw new ArgumentException($"The model '{model.ModelPath}' has no tokenizer files; a chat client needs one.", nameof(model));
        _metadata = new ChatClientMetadata("Aigc.MLNet", null, model.ModelFolder ?? model.ModelPath);
    }

    /// <summary>Turns a conversation into the prompt text; see the class remarks for the default.</summary>
    public Func<IReadOnlyList<ChatMessage>, string> PromptFormatter { get; set; } = DefaultPrompt;

    /// <summary>Options used when a call passes none (defaults: greedy, 20 new tokens).</summary>
    public GenerationOptions DefaultGeneration { get; set; } = new();

    /// <inheritdoc/>
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string prompt = PromptFormatter(messages.ToList());
        var generation = ToGeneration(options);
        return Task.Run(() =>
        {
            var sequence = _generator.Generate(prompt, generation, cancellationToken)[0];
            var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, sequence.Text ?? ""))
            {
                FinishReason = sequence.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop,
                ModelId = _metadata.DefaultModelId,
                Usage = new UsageDetails
                {
                    InputTokenCount = _generator.Tokenizer!.CountTokens(prompt),
                    OutputTokenCount = sequence.TokenIds.Count,
                    TotalTokenCount = _generator.Tokenizer!.CountTokens(prompt) + sequence.TokenIds.Count,
                },
            };
            return response;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string prompt = PromptFormatter(messages.ToList());
        await foreach (string delta in _generator.GenerateStreamingAsync(prompt, ToGeneration(options), cancellationToken).ConfigureAwait(false))
            yield return new ChatResponseUpdate(ChatRole.Assistant, delta) { ModelId = _metadata.DefaultModelId };
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(ChatClientMetadata))
            return _metadata;
        if (serviceType.IsInstanceOfType(_model))
            return _model;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Disposes the model when this client owns it.</summary>
    public void Dispose()
    {
        if (_ownsModel)
            _model.Dispose();
    }

    /// <summary>Maps Microsoft.Extensions.AI options onto <see cref="GenerationOptions"/> (starting from <see cref="DefaultGeneration"/>).</summary>
    /// <param name="options">The chat options, or null.</param>
    public GenerationOptions ToGeneration(ChatOptions? options)
    {
        var g = DefaultGeneration.Clone();
        if (options is null)
            return g;
        if (options.MaxOutputTokens is int max)
        {
            g.MaxNewTokens = max;
            g.MaxLength = null;
        }
        if (options.Temperature is float t)
        {
            g.DoSample = t > 0;
            if (t > 0)
                g.Temperature = t;
        }
        if (options.TopP is float p)
            g.TopP = p;
        if (options.TopK is int k)
            g.TopK = k;
        if (options.Seed is long seed)
            g.Seed = unchecked((int)seed);
        if (options.StopSequences is { Count: > 0 } stops)
            g.StopSequences = stops.ToArray();
        g.Validate();
        return g;
    }

    private static string DefaultPrompt(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 1 && messages[0].Role == ChatRole.User)
            return messages[0].Text;
        var sb = new StringBuilder();
        foreach (var message in messages)
            sb.Append(Capitalise(message.Role.Value)).Append(": ").Append(message.Text).Append('\n');
        return sb.Append("Assistant:").ToString();
    }

    private static string Capitalise(string role) => role.Length == 0 ? role : char.ToUpperInvariant(role[0]) + role[1..];
}
