using System.Runtime.CompilerServices;
using System.Text;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Microsoft.Extensions.AI;

namespace Aigc.MLNet.Transforms.Chat;

/// <summary>
/// A <see cref="IChatClient"/> over a causal language model folder, so that code written against
/// Microsoft.Extensions.AI (and Semantic Kernel through it) can use the models this library serves.
/// </summary>
/// <remarks>
/// <para><see cref="ChatOptions"/> map to <see cref="GenerationOptions"/> (<see cref="ToGeneration"/>): MaxOutputTokens →
/// MaxNewTokens, Temperature (0 = greedy, otherwise sampling at that temperature), TopP, TopK, StopSequences, Seed
/// (must fit an int), FrequencyPenalty and PresencePenalty (OpenAI's additive penalties on generated tokens).
/// Hugging Face controls travel in <see cref="ChatOptions.AdditionalProperties"/> under their <c>generate()</c> names
/// (see <see cref="AdditionalPropertyNames"/>); a whole <see cref="GenerationOptions"/> can be passed through
/// <see cref="ChatOptions.RawRepresentationFactory"/> and is then the base the other options refine.</para>
/// <para>Responses carry ResponseId, ModelId, CreatedAt, FinishReason and Usage; the last streamed update carries the
/// FinishReason and a <see cref="UsageContent"/>, so <c>ToChatResponseAsync()</c> rebuilds the same response.</para>
/// <para>Not supported, refused with <see cref="NotSupportedException"/>: tools (a base LM cannot call functions),
/// JSON response formats, and more than one return sequence.</para>
/// <para>GPT-2-style models have no chat template. By default a conversation holding one user message is sent as that
/// text (plain completion); longer conversations become "Role: text" lines followed by "Assistant:". Set
/// <see cref="PromptFormatter"/> for another format.</para>
/// </remarks>
public sealed class CausalLMChatClient : IChatClient
{
    private readonly CausalLM _model;
    private readonly TextGenerator _generator;
    private readonly bool _ownsModel;
    private readonly ChatClientMetadata _metadata;

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> keys this client reads (Hugging Face <c>generate()</c> names).</summary>
    public static IReadOnlyList<string> AdditionalPropertyNames { get; } =
    [
        "do_sample", "num_beams", "length_penalty", "early_stopping", "repetition_penalty", "no_repeat_ngram_size", "min_new_tokens",
        "bad_words_ids", "eos_token_id", "pad_token_id", "num_return_sequences", "context_overflow", "context_slide_stride",
    ];

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
        var generator = GeneratorFor(options);
        return Task.Run(() =>
        {
            var sequence = generator.Generate(prompt, generation, cancellationToken)[0];
            string id = NewResponseId();
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, sequence.Text ?? "") { MessageId = id })
            {
                ResponseId = id,
                ModelId = _metadata.DefaultModelId,
                CreatedAt = DateTimeOffset.UtcNow,
                FinishReason = ToChatFinishReason(sequence.FinishReason),
                Usage = Usage(prompt, sequence.TokenIds.Count),
                RawRepresentation = sequence,
            };
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string prompt = PromptFormatter(messages.ToList());
        var generation = ToGeneration(options);
        if (generation.NumBeams > 1)
            throw new NotSupportedException("Streaming needs num_beams = 1: beam search only knows its best sequence at the end; call GetResponseAsync instead.");
        var generator = GeneratorFor(options);
        string id = NewResponseId();
        var created = DateTimeOffset.UtcNow;
        await foreach (var delta in generator.GenerateStreamingAsync([prompt], generation, cancellationToken).ConfigureAwait(false))
        {
            var update = new ChatResponseUpdate(ChatRole.Assistant, delta.Text)
            {
                ResponseId = id, MessageId = id, ModelId = _metadata.DefaultModelId, CreatedAt = created, RawRepresentation = delta,
            };
            if (delta.FinishReason is { } reason)
            {
                update.FinishReason = ToChatFinishReason(reason);
                update.Contents.Add(new UsageContent(Usage(prompt, delta.GeneratedTokenCount ?? 0)));
            }
            yield return update;
        }
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

    /// <summary>
    /// Maps Microsoft.Extensions.AI options onto <see cref="GenerationOptions"/>: the base is what
    /// <see cref="ChatOptions.RawRepresentationFactory"/> returns when it is a <see cref="GenerationOptions"/>, else
    /// <see cref="DefaultGeneration"/>; then the typed options, then <see cref="ChatOptions.AdditionalProperties"/>.
    /// </summary>
    /// <param name="options">The chat options, or null.</param>
    /// <exception cref="NotSupportedException">Tools, a JSON response format or several return sequences are asked for.</exception>
    /// <exception cref="ArgumentException">An option has a value the engine cannot take (the message names it).</exception>
    public GenerationOptions ToGeneration(ChatOptions? options)
    {
        var g = (options?.RawRepresentationFactory?.Invoke(this) as GenerationOptions)?.Clone() ?? DefaultGeneration.Clone();
        if (options is null)
        {
            g.Validate();
            return g;
        }
        if (options.Tools is { Count: > 0 } && options.ToolMode is not NoneChatToolMode)
            throw new NotSupportedException($"CausalLMChatClient does not call tools: the model '{_metadata.DefaultModelId}' is a plain language model. Remove ChatOptions.Tools (or set ToolMode = None).");
        if (options.ResponseFormat is ChatResponseFormatJson)
            throw new NotSupportedException("CausalLMChatClient produces plain text; ChatOptions.ResponseFormat = Json is not supported.");
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
        {
            if (seed < int.MinValue || seed > int.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(options), seed, $"ChatOptions.Seed is {seed}; the engine's seeds are 32-bit integers ({int.MinValue} to {int.MaxValue}).");
            g.Seed = (int)seed;
        }
        if (options.StopSequences is { Count: > 0 } stops)
            g.StopSequences = stops.ToArray();
        if (options.AdditionalProperties is { } extra)
            ApplyAdditionalProperties(g, extra);
        if (g.NumReturnSequences != 1)
            throw new NotSupportedException($"A chat response holds one message; num_return_sequences must be 1, found {g.NumReturnSequences}. Use TextGenerator for several sequences.");
        g.Validate();
        return g;
    }

    private static void ApplyAdditionalProperties(GenerationOptions g, AdditionalPropertiesDictionary extra)
    {
        foreach (var (key, value) in extra)
        {
            if (value is null) continue;
            switch (key)
            {
                case "do_sample": g.DoSample = Read<bool>(key, value); break;
                case "num_beams": g.NumBeams = Read<int>(key, value); break;
                case "length_penalty": g.LengthPenalty = Read<double>(key, value); break;
                case "early_stopping": g.EarlyStopping = Read<bool>(key, value); break;
                case "repetition_penalty": g.RepetitionPenalty = Read<double>(key, value); break;
                case "no_repeat_ngram_size": g.NoRepeatNgramSize = Read<int>(key, value); break;
                case "min_new_tokens": g.MinNewTokens = Read<int>(key, value); break;
                case "bad_words_ids": g.BadWordsIds = Read<int[][]>(key, value); break;
                case "eos_token_id": g.EosTokenIds = Read<int[]>(key, value); break;
                case "pad_token_id": g.PadTokenId = Read<int>(key, value); break;
                case "num_return_sequences": g.NumReturnSequences = Read<int>(key, value); break;
                case "context_overflow": g.ContextOverflow = Read<string>(key, value) == "slide" ? ContextOverflow.SlideWindow : ContextOverflow.Stop; break;
                case "context_slide_stride": g.ContextSlideStride = Read<int>(key, value); break;
            }
        }
    }

    // Values arrive typed (set in code) or as JsonElement (deserialized requests); both are converted the same way.
    private static T Read<T>(string key, object value)
    {
        try
        {
            if (value is T typed) return typed;
            if (value is System.Text.Json.JsonElement json)
                return System.Text.Json.JsonSerializer.Deserialize<T>(json) ?? throw new FormatException("null");
            if (typeof(T) == typeof(int[][]) && value is IEnumerable<int[]> rows) return (T)(object)rows.ToArray();
            if (typeof(T) == typeof(int[]) && value is IEnumerable<int> ids) return (T)(object)ids.ToArray();
            return (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException or System.Text.Json.JsonException)
        {
            throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{key}\"] must be {typeof(T).Name}; found {value} ({value.GetType().Name}).", nameof(ChatOptions.AdditionalProperties), e);
        }
    }

    private TextGenerator GeneratorFor(ChatOptions? options)
    {
        float frequency = options?.FrequencyPenalty ?? 0, presence = options?.PresencePenalty ?? 0;
        if (frequency == 0 && presence == 0) return _generator;
        return new TextGenerator(_model, _generator.Tokenizer) { LogitsProcessors = [() => new FrequencyPresencePenaltyLogitsProcessor(frequency, presence)] };
    }

    private UsageDetails Usage(string prompt, int generated)
    {
        int input = _generator.Tokenizer!.CountTokens(prompt);
        return new UsageDetails { InputTokenCount = input, OutputTokenCount = generated, TotalTokenCount = input + generated };
    }

    private static ChatFinishReason ToChatFinishReason(FinishReason reason) => reason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;

    private static string NewResponseId() => "aigc-" + Guid.NewGuid().ToString("N");

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
