using Aigc.MLNet.Onnx.Runtime;

namespace Aigc.MLNet.Onnx.Generation;

/// <summary>Validated inputs shared by the greedy/sampling and beam-search loops.</summary>
internal sealed class DecodingRequest
{
    public DecodingRequest(CausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, Func<ITextTracker>? textTrackers,
        BeamEarlyStopping? earlyStopping, IReadOnlyList<Func<ILogitsProcessor>>? extraProcessors = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        model.ThrowIfDisposed();
        options = options.Clone(); // the caller may change its instance while this call runs (streaming is lazy)
        options.Validate();
        if (prompts.Count == 0) throw new ArgumentException("At least one prompt is needed.", nameof(prompts));
        if (options.StopSequences is { Count: > 0 } && textTrackers is null)
            throw new ArgumentException("StopSequences are matched on decoded text, but this model has no tokenizer; load one with the model or leave StopSequences empty.", nameof(options));

        Model = model;
        Options = options;
        Pipeline = new LogitsPipeline(options, model.Config.EosTokenIds);
        EosTokenIds = [.. Pipeline.EosTokenIds];
        PadTokenId = options.PadTokenId ?? model.Config.PadTokenId ?? (EosTokenIds.Length > 0 ? EosTokenIds[0] : 0);
        TextTrackers = textTrackers;
        ExtraProcessors = extraProcessors is { Count: > 0 }
            ? [.. extraProcessors.Select((f, i) => f?.Invoke() ?? throw new ArgumentException($"LogitsProcessors[{i}] is null or returned null.", nameof(extraProcessors)))]
            : [];
        EarlyStopping = earlyStopping ?? (options.EarlyStopping ? BeamEarlyStopping.WhenBeamsFinished : BeamEarlyStopping.Heuristic);

        int vocab = model.Config.VocabSize;
        if (vocab > 0 && PadTokenId >= vocab)
            throw new ArgumentOutOfRangeException(nameof(options), PadTokenId, $"The pad token id {PadTokenId} (PadTokenId, else the model's pad/eos id) is outside the vocabulary [0, {vocab}).");
        int? maxPositions = model.Config.MaxPositions;
        if (maxPositions is int window && model.Config.SlidesContext(options))
        {
            int stride = options.ContextSlideStride ?? Math.Max(1, window / 4);
            if (stride >= window)
                throw new ArgumentOutOfRangeException(nameof(options), stride,
                    $"{nameof(GenerationOptions.ContextSlideStride)} is {stride}; it must be below the model's n_positions ({window}).");
            SlideWindow = window;
            SlideKeep = window - stride + 1;
        }
        var list = new int[prompts.Count][];
        var maxNew = new int[prompts.Count];
        for (int i = 0; i < prompts.Count; i++)
        {
            var p = prompts[i] ?? throw new ArgumentNullException($"{nameof(prompts)}[{i}]");
            int[] ids;
            if (p.Count == 0)
            {
                if (model.Config.BosTokenId is not int bos)
                    throw new ArgumentException($"Prompt {i} is empty and the model declares no bos_token_id to start from.", nameof(prompts));
                ids = [bos];
            }
            else ids = [.. p];
            for (int j = 0; j < ids.Length; j++)
                if (ids[j] < 0 || (vocab > 0 && ids[j] >= vocab))
                    throw new ArgumentOutOfRangeException(nameof(prompts), ids[j], $"Prompt {i}, position {j}: token id {ids[j]} is outside the vocabulary [0, {vocab}).");
            if (maxPositions is int limit && ids.Length >= limit && SlideWindow == 0)
                throw new ArgumentException($"Prompt {i} has {ids.Length} tokens; the model accepts at most {limit} positions (n_positions), leaving no room to generate (GenerationOptions.ContextOverflow = SlideWindow keeps the last tokens instead).", nameof(prompts));
            int n = options.GetMaxNewTokens(ids.Length);
            if (maxPositions is int cap && SlideWindow == 0) n = Math.Min(n, cap - ids.Length);
            list[i] = ids;
            maxNew[i] = n;
        }
        Prompts = list;
        MaxNewTokens = maxNew;
    }

    public CausalLM Model { get; }
    public GenerationOptions Options { get; }
    public LogitsPipeline Pipeline { get; }
    public int[] EosTokenIds { get; }
    public int PadTokenId { get; }
    public Func<ITextTracker>? TextTrackers { get; }

    /// <summary>Caller-supplied processors (one instance per call), run after the built-in ones and before the warpers.</summary>
    public ILogitsProcessor[] ExtraProcessors { get; }

    /// <summary>Built-in processors, then the caller's.</summary>
    public void ApplyProcessors(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        Pipeline.ApplyProcessors(sequence, promptLength, scores);
        foreach (var p in ExtraProcessors) p.Process(sequence, promptLength, scores);
    }

    /// <summary>Processors, then (when sampling) warpers and a draw, else the arg-max: <see cref="LogitsPipeline.NextToken"/> plus the caller's processors.</summary>
    public int NextToken(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores, Random? rng)
    {
        if (ExtraProcessors.Length == 0) return Pipeline.NextToken(sequence, promptLength, scores, rng);
        ApplyProcessors(sequence, promptLength, scores);
        if (!Pipeline.DoSample) return LogitsPipeline.ArgMax(scores);
        Pipeline.ApplyWarpers(sequence, promptLength, scores);
        return Pipeline.Sample(scores, rng!);
    }
    public BeamEarlyStopping EarlyStopping { get; }

    /// <summary>Prompt ids per prompt (an empty prompt replaced by the BOS id).</summary>
    public int[][] Prompts { get; }

    /// <summary>n_positions when the context window slides (<see cref="ContextOverflow.SlideWindow"/>), else 0.</summary>
    public int SlideWindow { get; }

    /// <summary>Tokens a row keeps when its window slides: n_positions − stride + 1.</summary>
    public int SlideKeep { get; }

    /// <summary>Whether feeding one more position needs a slide: the cache already holds <paramref name="cachedLength"/> positions of n_positions.</summary>
    public bool MustSlide(int cachedLength) => SlideWindow > 0 && cachedLength + 1 > SlideWindow;

    /// <summary>
    /// The tokens a row feeds from <paramref name="start"/> on (its window's first position in the sequence): when the
    /// window would outgrow n_positions it moves to the last <see cref="SlideKeep"/> tokens. A row's window depends only
    /// on its own length, never on the batch: another row's slide re-reads this row's unchanged window.
    /// </summary>
    public ArraySegment<int> Window(int[] sequence, int length, ref int start)
    {
        length = Math.Min(length, sequence.Length); // a finished beam group keeps stepping with pads it does not store
        if (SlideWindow > 0 && length - start > SlideWindow) start = length - SlideKeep;
        return new ArraySegment<int>(sequence, start, length - start);
    }

    /// <summary>New-token budget per prompt (options; capped by the model's n_positions unless the window slides).</summary>
    public int[] MaxNewTokens { get; }

    public bool IsEos(int token) => Array.IndexOf(EosTokenIds, token) >= 0;

    /// <summary>The seed of return-sequence <paramref name="sequenceIndex"/>: depends only on the seed and that index, never on the batch.</summary>
    public static int RowSeed(int seed, int sequenceIndex) => unchecked(seed + (int)0x9E3779B9u * sequenceIndex);
}
