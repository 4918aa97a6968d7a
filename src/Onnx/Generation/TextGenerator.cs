using System.Runtime.CompilerServices;
using Aigc.MLNet.Onnx.Runtime;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// Generates text or token ids with a <see cref="CausalLM"/>: greedy search, sampling and beam search with Hugging Face
/// <c>generate()</c> semantics, batched prompts (left padding), stop sequences on decoded text and UTF-8-safe streaming.
/// </summary>
/// <remarks>
/// Thread-safe: every call keeps its own key/value cache, buffers and random generators, so many threads may share one
/// instance (and one model). The model is not owned: dispose it after the last call has returned.
/// Deliberate differences from Hugging Face, so that a row's result never depends on the rest of the batch:
/// <see cref="GenerationOptions.MaxLength"/> counts each prompt's own length (HF counts the padded length), and a sampled
/// sequence's random generator is seeded from <see cref="GenerationOptions.Seed"/> and its return-sequence number only.
/// Generated lengths are also capped by the model's n_positions. Text skips special tokens (e.g. &lt;|endoftext|&gt;).
/// </remarks>
public sealed class TextGenerator
{
    /// <summary>Creates a generator over <paramref name="model"/>.</summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="tokenizer">The tokenizer for text prompts, decoding and stop sequences; null uses <see cref="CausalLM.Tokenizer"/>.</param>
    public TextGenerator(CausalLM model, Tokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        Tokenizer = tokenizer ?? model.Tokenizer;
    }

    /// <summary>The model generating.</summary>
    public CausalLM Model { get; }

    /// <summary>The tokenizer, or null (then only the token-id methods work and results have no text).</summary>
    public Tokenizer? Tokenizer { get; }

    /// <summary>
    /// Extra logits processors, like HF <c>generate(logits_processor=...)</c>: each factory is called once per generation
    /// call (processors may keep per-call state and are never shared between threads); they run after the built-in
    /// processors and before the warpers, on every row (and beam) at every step.
    /// </summary>
    public IReadOnlyList<Func<ILogitsProcessor>> LogitsProcessors { get; init; } = [];

    /// <summary>Continues each prompt of token ids; returns NumReturnSequences results per prompt, grouped by prompt.</summary>
    /// <param name="prompts">Prompt token ids; prompts may differ in length (left padding is handled).</param>
    /// <param name="options">Generation options; null for greedy search of 20 new tokens.</param>
    /// <param name="earlyStopping">Beam search stopping rule; null follows <see cref="GenerationOptions.EarlyStopping"/> (true → <see cref="BeamEarlyStopping.WhenBeamsFinished"/>, false → <see cref="BeamEarlyStopping.Heuristic"/>).</param>
    /// <param name="cancellationToken">Cancels between and during model steps.</param>
    public IReadOnlyList<GeneratedSequence> GenerateTokens(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions? options = null,
        BeamEarlyStopping? earlyStopping = null, CancellationToken cancellationToken = default)
    {
        var request = CreateRequest(prompts, options, earlyStopping);
        return Run(request, cancellationToken);
    }

    /// <summary>Continues one prompt of token ids; returns NumReturnSequences results.</summary>
    /// <param name="prompt">Prompt token ids.</param>
    /// <param name="options">Generation options; null for greedy search of 20 new tokens.</param>
    /// <param name="cancellationToken">Cancels between and during model steps.</param>
    public IReadOnlyList<GeneratedSequence> GenerateTokens(IReadOnlyList<int> prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return GenerateTokens([prompt], options, null, cancellationToken);
    }

    /// <summary>Continues each text prompt; returns NumReturnSequences results per prompt, grouped by prompt.</summary>
    /// <param name="prompts">Text prompts (an empty prompt starts from the model's BOS token).</param>
    /// <param name="options">Generation options; null for greedy search of 20 new tokens.</param>
    /// <param name="earlyStopping">Beam search stopping rule; null follows <see cref="GenerationOptions.EarlyStopping"/>.</param>
    /// <param name="cancellationToken">Cancels between and during model steps.</param>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<string> prompts, GenerationOptions? options = null,
        BeamEarlyStopping? earlyStopping = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        return GenerateTokens(Encode(prompts), options, earlyStopping, cancellationToken);
    }

    /// <summary>Continues one text prompt; returns NumReturnSequences results.</summary>
    /// <param name="prompt">The text prompt.</param>
    /// <param name="options">Generation options; null for greedy search of 20 new tokens.</param>
    /// <param name="cancellationToken">Cancels between and during model steps.</param>
    public IReadOnlyList<GeneratedSequence> Generate(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return Generate([prompt], options, null, cancellationToken);
    }

    /// <summary>Continues one text prompt and returns the first sequence's text.</summary>
    /// <param name="prompt">The text prompt.</param>
    /// <param name="options">Generation options; null for greedy search of 20 new tokens.</param>
    /// <param name="cancellationToken">Cancels between and during model steps.</param>
    public string GenerateText(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
        => Generate(prompt, options, cancellationToken)[0].Text ?? "";

    /// <summary>
    /// Streams the continuation of <paramref name="prompt"/> as text deltas: never a split UTF-8 character, never text a
    /// stop sequence later removes; the deltas concatenate to the result's text. Greedy or sampling, one sequence.
    /// </summary>
    /// <param name="prompt">The text prompt.</param>
    /// <param name="options">Generation options (NumBeams and NumReturnSequences must be 1); null for greedy search of 20 new tokens.</param>
    /// <param name="cancellationToken">Cancels between and during model steps.</param>
    public async IAsyncEnumerable<string> GenerateStreamingAsync(string prompt, GenerationOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        options ??= new GenerationOptions();
        if (options.NumBeams != 1 || options.NumReturnSequences != 1)
            throw new ArgumentException("Streaming produces one sequence: NumBeams and NumReturnSequences must be 1.", nameof(options));
        var request = CreateRequest(Encode([prompt]), options, null);
        if (request.TextTrackers is null) throw NoTokenizer();
        // The model runs on the thread pool so a UI or request thread is never blocked by a step.
        using var search = await Task.Run(() => new SamplingSearch(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        while (await Task.Run(search.MoveNext, cancellationToken).ConfigureAwait(false))
        {
            string delta = search.TakeDelta(0);
            if (delta.Length > 0) yield return delta;
        }
        string rest = search.TakeRest(0);
        if (rest.Length > 0) yield return rest;
    }

    /// <summary>
    /// Streams several prompts at once (greedy or sampling, NumReturnSequences each): after every model step, each
    /// sequence's new text; a sequence's last delta carries its <see cref="TextDelta.FinishReason"/>. Per sequence, the
    /// deltas concatenate to the text <see cref="Generate(IReadOnlyList{string}, GenerationOptions?, BeamEarlyStopping?, CancellationToken)"/> returns.
    /// </summary>
    /// <param name="prompts">Text prompts.</param>
    /// <param name="options">Generation options (NumBeams must be 1); null for greedy search of 20 new tokens.</param>
    /// <param name="cancellationToken">Cancels between and during model steps.</param>
    public async IAsyncEnumerable<TextDelta> GenerateStreamingAsync(IReadOnlyList<string> prompts, GenerationOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        options ??= new GenerationOptions();
        if (options.NumBeams != 1)
            throw new ArgumentException("Streaming needs NumBeams = 1 (beam search only knows its best sequences at the end).", nameof(options));
        var request = CreateRequest(Encode(prompts), options, null);
        using var search = await Task.Run(() => new SamplingSearch(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        int perPrompt = options.NumReturnSequences;
        var reported = new bool[search.RowCount];
        bool more = true;
        while (more)
        {
            more = await Task.Run(search.MoveNext, cancellationToken).ConfigureAwait(false);
            for (int r = 0; r < search.RowCount; r++)
            {
                if (reported[r]) continue;
                string delta = search.TakeDelta(r);
                if (search.IsFinished(r))
                {
                    reported[r] = true;
                    yield return new TextDelta(r / perPrompt, r, delta + search.TakeRest(r), search.FinishReasonOf(r), search.GeneratedCount(r));
                }
                else if (delta.Length > 0) yield return new TextDelta(r / perPrompt, r, delta, null);
            }
        }
    }

    private DecodingRequest CreateRequest(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions? options, BeamEarlyStopping? earlyStopping)
    {
        options ??= new GenerationOptions();
        var tokenizer = Tokenizer;
        var stops = options.StopSequences;
        Func<ITextTracker>? trackers = tokenizer is null ? null : () => new StreamingTextTracker(tokenizer, stops);
        return new DecodingRequest(Model, prompts, options, trackers, earlyStopping, LogitsProcessors);
    }

    private static IReadOnlyList<GeneratedSequence> Run(DecodingRequest request, CancellationToken cancellationToken)
    {
        if (request.Options.NumBeams > 1)
        {
            using var beams = new BeamSearch(request, cancellationToken);
            return beams.Run();
        }
        using var search = new SamplingSearch(request, cancellationToken);
        while (search.MoveNext()) { }
        return search.Results();
    }

    private IReadOnlyList<int>[] Encode(IReadOnlyList<string> prompts)
    {
        var tokenizer = Tokenizer ?? throw NoTokenizer();
        var ids = new IReadOnlyList<int>[prompts.Count];
        for (int i = 0; i < prompts.Count; i++)
            ids[i] = tokenizer.EncodeToIds(prompts[i] ?? throw new ArgumentNullException($"{nameof(prompts)}[{i}]"));
        return ids;
    }

    private InvalidOperationException NoTokenizer() => new(
        $"The model '{Model.ModelPath}' has no tokenizer (no vocab.json + merges.txt beside it); pass one to the TextGenerator constructor or use GenerateTokens.");
}
