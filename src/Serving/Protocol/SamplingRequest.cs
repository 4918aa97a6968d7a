using System.Globalization;
using System.Text.Json;
using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Serving.Protocol;

/// <summary>
/// The sampling fields shared by <c>/v1/completions</c> and <c>/v1/chat/completions</c>, mapped onto
/// <see cref="GenerationOptions"/>. OpenAI semantics: temperature 0 is greedy search, otherwise sampling with
/// temperature and top_p (no top-k unless the vLLM extension <c>top_k</c> is sent).
/// </summary>
internal sealed class SamplingRequest
{
    private SamplingRequest(GenerationOptions options, int n, int? maxTokens, IReadOnlyList<Func<ILogitsProcessor>> processors, bool stream, bool includeUsage)
    {
        Options = options;
        N = n;
        MaxTokens = maxTokens;
        Processors = processors;
        Stream = stream;
        IncludeUsage = includeUsage;
    }

    /// <summary>Options for one prompt before its token budget is set (NumReturnSequences is n when sampling, 1 when greedy).</summary>
    public GenerationOptions Options { get; }

    /// <summary>Choices per prompt.</summary>
    public int N { get; }

    /// <summary>
    /// Greedy search with n &gt; 1: every choice would be the same sequence, so it is generated once and copied
    /// (as the OpenAI API answers temperature 0 with n copies).
    /// </summary>
    public bool CopiesGreedyResult => !Options.DoSample && N > 1;

    /// <summary>The requested max_tokens (or max_completion_tokens), or null.</summary>
    public int? MaxTokens { get; }

    /// <summary>Extra logits processors (frequency/presence penalties, logit_bias), one instance per prompt.</summary>
    public IReadOnlyList<Func<ILogitsProcessor>> Processors { get; }

    /// <summary>Answer with server-sent events.</summary>
    public bool Stream { get; }

    /// <summary><c>stream_options.include_usage</c>: a last chunk carries the usage.</summary>
    public bool IncludeUsage { get; }

    /// <summary>Reads and checks the sampling fields.</summary>
    public static SamplingRequest Parse(JsonElement body, bool chat, ModelService service)
    {
        var limits = service.Options;
        int vocab = service.Model.Config.VocabSize;

        int? maxTokens = null;
        foreach (string name in chat ? new[] { "max_tokens", "max_completion_tokens" } : ["max_tokens"])
        {
            if (RequestFields.Integer(body, name, 1, int.MaxValue) is not long requested) continue;
            if (requested > limits.MaxTokens)
                throw OpenAIError.BadField(name, string.Create(CultureInfo.InvariantCulture,
                    $"'{name}' is {requested}; this server generates at most {limits.MaxTokens} tokens per request (--max-tokens)."));
            maxTokens = (int)requested;
        }

        double temperature = RequestFields.Number(body, "temperature", 0, 2) ?? 1.0;
        double topP = RequestFields.Number(body, "top_p", 0, 1, minExclusive: true) ?? 1.0;
        long topK = RequestFields.Integer(body, "top_k", -1, vocab > 0 ? vocab : int.MaxValue) ?? 0;
        int n = (int)(RequestFields.Integer(body, "n", 1, int.MaxValue) ?? 1);
        if (n > limits.MaxBatchSize)
            throw OpenAIError.BadField("n", $"'n' is {n}; this server runs at most {limits.MaxBatchSize} sequences at once (--max-batch).");
        if (RequestFields.Integer(body, "best_of", 1, int.MaxValue) is long bestOf && bestOf != n)
            throw OpenAIError.BadField("best_of", $"'best_of' is {bestOf}; this server supports best_of only equal to n ({n}).");
        long? seed = RequestFields.Integer(body, "seed", long.MinValue, long.MaxValue);
        double frequency = RequestFields.Number(body, "frequency_penalty", -2, 2) ?? 0;
        double presence = RequestFields.Number(body, "presence_penalty", -2, 2) ?? 0;
        double repetition = RequestFields.Number(body, "repetition_penalty", 0, 100, minExclusive: true) ?? 1.0;
        int minTokens = (int)(RequestFields.Integer(body, "min_tokens", 0, int.MaxValue) ?? 0);
        if (maxTokens is int max && minTokens > max)
            throw OpenAIError.BadField("min_tokens", $"'min_tokens' is {minTokens}, above max_tokens ({max}).");
        bool ignoreEos = RequestFields.Boolean(body, "ignore_eos") ?? false;
        bool stream = RequestFields.Boolean(body, "stream") ?? false;
        bool includeUsage = false;
        if (RequestFields.TryGet(body, "stream_options", out var streamOptions))
        {
            if (!stream) throw OpenAIError.BadField("stream_options", "'stream_options' is only allowed when 'stream' is true.");
            if (streamOptions.ValueKind != JsonValueKind.Object)
                throw OpenAIError.BadField("stream_options", $"'stream_options' must be an object; found {RequestFields.Describe(streamOptions)}.");
            includeUsage = RequestFields.Boolean(streamOptions, "include_usage") ?? false;
        }
        RefuseUnsupported(body, chat);

        var processors = new List<Func<ILogitsProcessor>>();
        if (frequency != 0 || presence != 0) processors.Add(() => new FrequencyPresencePenaltyLogitsProcessor(frequency, presence));
        if (LogitBias(body, vocab) is { Count: > 0 } biases) processors.Add(() => new LogitBiasProcessor(biases));

        bool sample = temperature > 0;
        var options = new GenerationOptions
        {
            DoSample = sample,
            Temperature = sample ? temperature : 1.0,
            TopP = topP,
            TopK = topK < 0 ? 0 : (int)topK,
            NumReturnSequences = sample ? n : 1,
            StopSequences = RequestFields.Stop(body),
            Seed = seed is long s ? unchecked((int)s) : null,
            RepetitionPenalty = repetition,
            MinNewTokens = minTokens,
            EosTokenIds = ignoreEos ? [] : null,
        };
        return new SamplingRequest(options, n, maxTokens, processors, stream, includeUsage);
    }

    /// <summary>The options for one prompt of <paramref name="promptTokens"/> tokens, with its token budget checked against the context.</summary>
    public GenerationOptions ForPrompt(int promptTokens, int defaultMaxTokens, ModelService service, string promptParam)
    {
        var limits = service.Options;
        if (limits.MaxPromptTokens is int maxPrompt && promptTokens > maxPrompt)
            throw OpenAIError.BadField(promptParam, string.Create(CultureInfo.InvariantCulture,
                $"The prompt has {promptTokens} tokens; this server accepts at most {maxPrompt} (--max-prompt-tokens)."), "context_length_exceeded");
        int? context = service.ContextLength;
        int budget = MaxTokens ?? (context is int c ? Math.Min(defaultMaxTokens, c - promptTokens) : defaultMaxTokens);
        if (context is int ctx && (promptTokens + Math.Max(1, budget) > ctx || budget < 1))
            throw OpenAIError.BadField(promptParam, string.Create(CultureInfo.InvariantCulture,
                $"This model's maximum context length is {ctx} tokens. However, you requested {promptTokens + Math.Max(1, budget)} tokens ({promptTokens} in the {(promptParam == "messages" ? "messages" : "prompt")}, {Math.Max(1, budget)} in the completion). Please reduce the length of the {(promptParam == "messages" ? "messages" : "prompt")} or completion."),
                "context_length_exceeded");
        var options = Options.Clone();
        options.MaxNewTokens = budget;
        return options;
    }

    private static void RefuseUnsupported(JsonElement body, bool chat)
    {
        if (chat)
        {
            if (RequestFields.Boolean(body, "logprobs") == true)
                throw OpenAIError.BadField("logprobs", "'logprobs' is not supported by this server; leave it false.");
            if (RequestFields.TryGet(body, "top_logprobs", out _))
                throw OpenAIError.BadField("top_logprobs", "'top_logprobs' is not supported by this server.");
            foreach (string name in new[] { "tools", "functions" })
                if (RequestFields.TryGet(body, name, out var v) && !(v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0))
                    throw OpenAIError.BadField(name, $"'{name}' is not supported: this server serves a base language model without tool calling.");
            if (RequestFields.TryGet(body, "response_format", out var format) &&
                !(format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text"))
                throw OpenAIError.BadField("response_format", "Only 'response_format': {\"type\": \"text\"} is supported.");
        }
        else
        {
            if (RequestFields.Integer(body, "logprobs", 0, 5) is long logprobs && logprobs > 0)
                throw OpenAIError.BadField("logprobs", "'logprobs' is not supported by this server; leave it null or 0.");
            if (RequestFields.TryGet(body, "suffix", out var suffix) && !(suffix.ValueKind == JsonValueKind.String && suffix.GetString() == ""))
                throw OpenAIError.BadField("suffix", "'suffix' (insertion) is not supported by this server.");
        }
    }

    private static List<(int, float)>? LogitBias(JsonElement body, int vocab)
    {
        if (!RequestFields.TryGet(body, "logit_bias", out var map)) return null;
        if (map.ValueKind != JsonValueKind.Object)
            throw OpenAIError.BadField("logit_bias", $"'logit_bias' must be an object mapping token ids to biases; found {RequestFields.Describe(map)}.");
        var biases = new List<(int, float)>();
        foreach (var entry in map.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int token) || (vocab > 0 && token >= vocab))
                throw OpenAIError.BadField("logit_bias", $"'logit_bias' key \"{entry.Name}\" is not a token id in [0, {vocab}).");
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetDouble(out double bias) || bias < -100 || bias > 100)
                throw OpenAIError.BadField("logit_bias", $"'logit_bias' value for token {token} must be a number from -100 to 100; found {RequestFields.Describe(entry.Value)}.");
            biases.Add((token, (float)bias));
        }
        return biases;
    }
}
