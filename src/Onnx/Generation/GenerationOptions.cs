namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// Options for autoregressive text generation, named and behaving like the arguments of Hugging Face
/// <c>model.generate()</c> (<c>GenerationConfig</c>) in PascalCase.
/// </summary>
/// <remarks>
/// Decoding strategy follows Hugging Face: <see cref="NumBeams"/> = 1 and <see cref="DoSample"/> = false is greedy search,
/// <see cref="DoSample"/> = true is multinomial sampling, <see cref="NumBeams"/> &gt; 1 is beam search (beam-sample when
/// <see cref="DoSample"/> is also true). Call <see cref="Validate"/> before use; the decoding loop does.
/// One deliberate difference: when neither <see cref="MaxNewTokens"/> nor <see cref="MaxLength"/> is set, 20 new tokens
/// are generated (Hugging Face's default is a total length of 20, which yields nothing for prompts of 20 tokens or more).
/// </remarks>
public sealed partial class GenerationOptions
{
    /// <summary>Number of new tokens generated when neither <see cref="MaxNewTokens"/> nor <see cref="MaxLength"/> is set.</summary>
    public const int DefaultMaxNewTokens = 20;

    /// <summary>HF <c>max_new_tokens</c>: the maximum number of tokens to generate, ignoring the prompt. Takes precedence over <see cref="MaxLength"/>.</summary>
    public int? MaxNewTokens { get; set; }

    /// <summary>HF <c>max_length</c>: the maximum length of prompt plus generated tokens. Used only when <see cref="MaxNewTokens"/> is null.</summary>
    public int? MaxLength { get; set; }

    /// <summary>HF <c>min_new_tokens</c>: end-of-sequence tokens are forbidden until this many new tokens have been generated.</summary>
    public int MinNewTokens { get; set; }

    /// <summary>HF <c>do_sample</c>: sample the next token from the processed distribution instead of taking the most likely one.</summary>
    public bool DoSample { get; set; }

    /// <summary>HF <c>temperature</c>: divides the logits before sampling; below 1 sharpens, above 1 flattens. Used only when sampling.</summary>
    public double Temperature { get; set; } = 1.0;

    /// <summary>HF <c>top_k</c>: when sampling, keep only the k most likely tokens (all tokens tied with the k-th are kept); 0 disables.</summary>
    public int TopK { get; set; } = 50;

    /// <summary>HF <c>top_p</c>: when sampling, keep the smallest set of most likely tokens whose probabilities add up to at least p (nucleus sampling); 1 disables.</summary>
    public double TopP { get; set; } = 1.0;

    /// <summary>HF <c>num_beams</c>: number of beams for beam search; 1 means no beam search.</summary>
    public int NumBeams { get; set; } = 1;

    /// <summary>HF <c>length_penalty</c>: beam search divides a finished hypothesis' summed log-probability by length^LengthPenalty; above 0 favours longer sequences.</summary>
    public double LengthPenalty { get; set; } = 1.0;

    /// <summary>HF <c>early_stopping</c> (true/false form): when true, beam search stops as soon as <see cref="NumBeams"/> hypotheses are finished; when false, it stops when no better hypothesis can be found by a heuristic.</summary>
    public bool EarlyStopping { get; set; }

    /// <summary>HF <c>num_return_sequences</c>: number of independently computed sequences returned per prompt (at most <see cref="NumBeams"/> for beam search).</summary>
    public int NumReturnSequences { get; set; } = 1;

    /// <summary>HF <c>repetition_penalty</c>: every token already in the sequence (prompt included) has its logit divided by this value when positive, multiplied when negative; 1 disables.</summary>
    public double RepetitionPenalty { get; set; } = 1.0;

    /// <summary>HF <c>no_repeat_ngram_size</c>: when above 0, no n-gram of this size may occur twice in the sequence (prompt included).</summary>
    public int NoRepeatNgramSize { get; set; }

    /// <summary>HF <c>bad_words_ids</c>: token-id sequences that may never be generated; a single-id entry bans that token, a longer entry bans its last id after the preceding ids.</summary>
    public IReadOnlyList<int[]>? BadWordsIds { get; set; }

    /// <summary>HF <c>eos_token_id</c>: token ids that end a sequence; null takes them from the model's configuration.</summary>
    public IReadOnlyList<int>? EosTokenIds { get; set; }

    /// <summary>HF <c>pad_token_id</c>: id written after a finished sequence in a batch; null uses the first end-of-sequence id, as Hugging Face does.</summary>
    public int? PadTokenId { get; set; }

    /// <summary>HF <c>stop_strings</c>: generation of a sequence stops when its decoded text contains one of these strings (matched on text, so a stop string may span several tokens); the text is cut before it.</summary>
    public IReadOnlyList<string>? StopSequences { get; set; }

    /// <summary>Seed of the random generator used for sampling (HF <c>set_seed</c>); null draws a random seed.</summary>
    public int? Seed { get; set; }

    /// <summary>HF <c>output_scores</c>: also return the processed scores of every generated token.</summary>
    public bool OutputScores { get; set; }

    /// <summary>
    /// What happens when a sequence reaches the model's n_positions: <see cref="Generation.ContextOverflow.Stop"/> or
    /// <see cref="Generation.ContextOverflow.SlideWindow"/>. Null takes the model's default (<c>context_overflow</c> in its
    /// generation_config.json: models trained with Aigc.MLNet slide; other models, such as converted GPT-2 checkpoints, stop).
    /// With sliding, <see cref="MaxNewTokens"/> is honoured exactly and prompts longer than the context keep their last tokens.
    /// </summary>
    public ContextOverflow? ContextOverflow { get; set; }

    /// <summary>
    /// With <see cref="Generation.ContextOverflow.SlideWindow"/>: tokens generated between two slides of the window, 1 to
    /// n_positions − 1 (each slide re-reads n_positions − stride + 1 tokens). 1 matches nanoGPT token for token; larger
    /// strides re-read less often. Null uses a quarter of n_positions.
    /// </summary>
    public int? ContextSlideStride { get; set; }

    /// <summary>True when these options select beam search (<see cref="NumBeams"/> &gt; 1).</summary>
    public bool IsBeamSearch => NumBeams > 1;

    /// <summary>
    /// The number of tokens to generate for a prompt of <paramref name="promptLength"/> tokens:
    /// <see cref="MaxNewTokens"/>, else <see cref="MaxLength"/> minus the prompt length, else <see cref="DefaultMaxNewTokens"/>.
    /// </summary>
    /// <param name="promptLength">Number of prompt tokens (without padding).</param>
    /// <exception cref="ArgumentException">The prompt already fills <see cref="MaxLength"/>.</exception>
    public int GetMaxNewTokens(int promptLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        if (MaxNewTokens is int n)
            return n;
        if (MaxLength is int max)
        {
            if (max <= promptLength)
                throw new ArgumentException(
                    $"{nameof(MaxLength)} is {max} but the prompt already has {promptLength} tokens; MaxLength counts prompt plus new tokens, so set it above {promptLength} or use {nameof(MaxNewTokens)}.",
                    nameof(promptLength));
            return max - promptLength;
        }
        return DefaultMaxNewTokens;
    }

    /// <summary>Checks every option and throws naming the first invalid option and its allowed range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A numeric option is outside its allowed range.</exception>
    /// <exception cref="ArgumentException">Options contradict each other or a list holds an invalid entry.</exception>
    public void Validate()
    {
        if (MaxNewTokens is int maxNew && maxNew < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), maxNew, $"{nameof(MaxNewTokens)} must be at least 1 (or null).");
        if (MaxLength is int maxLen && maxLen < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxLength), maxLen, $"{nameof(MaxLength)} must be at least 1 (or null).");
        if (MinNewTokens < 0)
            throw new ArgumentOutOfRangeException(nameof(MinNewTokens), MinNewTokens, $"{nameof(MinNewTokens)} must be 0 or more.");
        if (!double.IsFinite(Temperature) || (DoSample && Temperature <= 0))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature,
                $"{nameof(Temperature)} must be a finite number greater than 0 when {nameof(DoSample)} is true.");
        if (TopK < 0)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, $"{nameof(TopK)} must be 0 (disabled) or more.");
        if (double.IsNaN(TopP) || TopP <= 0 || TopP > 1)
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, $"{nameof(TopP)} must be in (0, 1]; 1 disables nucleus filtering.");
        if (NumBeams < 1)
            throw new ArgumentOutOfRangeException(nameof(NumBeams), NumBeams, $"{nameof(NumBeams)} must be at least 1.");
        if (!double.IsFinite(LengthPenalty))
            throw new ArgumentOutOfRangeException(nameof(LengthPenalty), LengthPenalty, $"{nameof(LengthPenalty)} must be a finite number.");
        if (NumReturnSequences < 1)
            throw new ArgumentOutOfRangeException(nameof(NumReturnSequences), NumReturnSequences, $"{nameof(NumReturnSequences)} must be at least 1.");
        if (NumBeams > 1 && NumReturnSequences > NumBeams)
            throw new ArgumentOutOfRangeException(nameof(NumReturnSequences), NumReturnSequences,
                $"{nameof(NumReturnSequences)} must be between 1 and {nameof(NumBeams)} ({NumBeams}) for beam search.");
        if (NumBeams == 1 && !DoSample && NumReturnSequences > 1)
            throw new ArgumentException(
                $"{nameof(NumReturnSequences)} is {NumReturnSequences} but greedy search (DoSample = false, NumBeams = 1) returns one sequence; set {nameof(DoSample)} = true or {nameof(NumBeams)} >= {NumReturnSequences}.",
                nameof(NumReturnSequences));
        if (!double.IsFinite(RepetitionPenalty) || RepetitionPenalty <= 0)
            throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty,
                $"{nameof(RepetitionPenalty)} must be a finite number greater than 0; 1 disables it.");
        if (NoRepeatNgramSize < 0)
            throw new ArgumentOutOfRangeException(nameof(NoRepeatNgramSize), NoRepeatNgramSize, $"{nameof(NoRepeatNgramSize)} must be 0 (disabled) or more.");
        if (BadWordsIds is { } bad)
        {
            for (int i = 0; i < bad.Count; i++)
            {
                int[]? seq = bad[i];
                if (seq is null || seq.Length == 0)
                    throw new ArgumentException($"{nameof(BadWordsIds)}[{i}] must be a non-empty array of token ids.", nameof(BadWordsIds));
                for (int j = 0; j < seq.Length; j++)
                    if (seq[j] < 0)
                        throw new ArgumentException($"{nameof(BadWordsIds)}[{i}][{j}] is {seq[j]}; token ids must be 0 or more.", nameof(BadWordsIds));
            }
        }
        if (EosTokenIds is { } eos)
        {
            for (int i = 0; i < eos.Count; i++)
                if (eos[i] < 0)
                    throw new ArgumentException($"{nameof(EosTokenIds)}[{i}] is {eos[i]}; token ids must be 0 or more.", nameof(EosTokenIds));
        }
        if (PadTokenId is int pad && pad < 0)
            throw new ArgumentOutOfRangeException(nameof(PadTokenId), pad, $"{nameof(PadTokenId)} must be 0 or more (or null).");
        if (ContextSlideStride is int stride && stride < 1)
            throw new ArgumentOutOfRangeException(nameof(ContextSlideStride), stride, $"{nameof(ContextSlideStride)} must be at least 1 (or null).");
        if (ContextOverflow is { } overflow && !Enum.IsDefined(overflow))
            throw new ArgumentOutOfRangeException(nameof(ContextOverflow), overflow, $"{nameof(ContextOverflow)} must be Stop or SlideWindow (or null).");
        if (StopSequences is { } stops)
        {
            for (int i = 0; i < stops.Count; i++)
                if (string.IsNullOrEmpty(stops[i]))
                    throw new ArgumentException($"{nameof(StopSequences)}[{i}] is null or empty; every stop sequence must have at least one character.", nameof(StopSequences));
        }
    }

    /// <summary>Returns a deep copy: lists and bad-word arrays are copied, so changing the copy never changes this instance.</summary>
    public GenerationOptions Clone()
    {
        var copy = (GenerationOptions)MemberwiseClone();
        copy.BadWordsIds = BadWordsIds?.Select(a => a is null ? null! : (int[])a.Clone()).ToArray();
        copy.EosTokenIds = EosTokenIds?.ToArray();
        copy.StopSequences = StopSequences?.ToArray();
        return copy;
    }
}
