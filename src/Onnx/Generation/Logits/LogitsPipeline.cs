namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// The next-token score pipeline of Hugging Face <c>generate()</c> built from <see cref="GenerationOptions"/>: processors
/// (repetition penalty, no-repeat n-gram, bad words, minimum new tokens, in HF's order), then warpers (temperature, top-k,
/// top-p, only when <see cref="GenerationOptions.DoSample"/>), then greedy or multinomial choice.
/// </summary>
/// <remarks>
/// An instance holds scratch buffers sized to the vocabulary (allocated on first use), so after the first call no method
/// allocates. It is not thread-safe: use one instance per thread (decoding loop). Because every call receives the row's
/// sequence, the same instance can serve all rows of a batch and all beams one after another.
/// </remarks>
public sealed class LogitsPipeline
{
    private readonly ILogitsProcessor[] _processors;
    private readonly ILogitsProcessor[] _warpers;
    private readonly string[] _banningOptions;
    private readonly int[] _bannedEosTokenIds;

    /// <summary>Builds the pipeline.</summary>
    /// <param name="options">The generation options; validated here.</param>
    /// <param name="eosTokenIds">The model's end-of-sequence ids, used when <see cref="GenerationOptions.EosTokenIds"/> is null.</param>
    public LogitsPipeline(GenerationOptions options, IReadOnlyList<int>? eosTokenIds)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        EosTokenIds = (options.EosTokenIds ?? eosTokenIds ?? []).ToArray();
        DoSample = options.DoSample;

        var processors = new List<ILogitsProcessor>();
        if (options.RepetitionPenalty != 1.0)
            processors.Add(new RepetitionPenaltyLogitsProcessor(options.RepetitionPenalty));
        if (options.NoRepeatNgramSize > 0)
            processors.Add(new NoRepeatNGramLogitsProcessor(options.NoRepeatNgramSize));
        if (options.BadWordsIds is { Count: > 0 } bad)
            processors.Add(new NoBadWordsLogitsProcessor(bad, EosTokenIds));
        if (options.MinNewTokens > 0 && EosTokenIds.Count > 0)
            processors.Add(new MinNewTokensLengthLogitsProcessor(options.MinNewTokens, EosTokenIds));
        _processors = processors.ToArray();
        // Options that set scores to -∞: with them a step can be left with no token at all, which is reported, not hidden.
        var banning = new List<string>();
        if (options.BadWordsIds is { Count: > 0 }) banning.Add(nameof(GenerationOptions.BadWordsIds));
        if (options.NoRepeatNgramSize > 0) banning.Add(nameof(GenerationOptions.NoRepeatNgramSize));
        if (options.MinNewTokens > 0 && EosTokenIds.Count > 0) banning.Add(nameof(GenerationOptions.MinNewTokens));
        _banningOptions = banning.ToArray();
        // HF exempts end-of-sequence ids from BadWordsIds; a step where only those are left was still banned entirely by the caller.
        _bannedEosTokenIds = options.BadWordsIds is { } badWords
            ? EosTokenIds.Where(eos => badWords.Any(w => w is { Length: 1 } && w[0] == eos)).ToArray()
            : [];

        var warpers = new List<ILogitsProcessor>();
        if (options.DoSample)
        {
            int minTokensToKeep = options.NumBeams > 1 ? 2 : 1; // HF keeps 2 for beam sampling
            if (options.Temperature != 1.0)
                warpers.Add(new TemperatureLogitsWarper(options.Temperature));
            if (options.TopK != 0)
                warpers.Add(new TopKLogitsWarper(options.TopK, minTokensToKeep));
            if (options.TopP < 1.0)
                warpers.Add(new TopPLogitsWarper(options.TopP, minTokensToKeep));
        }
        _warpers = warpers.ToArray();
    }

    /// <summary>The end-of-sequence ids in effect (from the options, else from the model).</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>True when the next token is sampled rather than chosen greedily.</summary>
    public bool DoSample { get; }

    /// <summary>The processors applied by <see cref="ApplyProcessors"/>, in order.</summary>
    public IReadOnlyList<ILogitsProcessor> Processors => _processors;

    /// <summary>The warpers applied by <see cref="ApplyWarpers"/>, in order (empty unless sampling).</summary>
    public IReadOnlyList<ILogitsProcessor> Warpers => _warpers;

    /// <summary>Applies the processors (repetition penalty, no-repeat n-gram, bad words, minimum new tokens) in place.</summary>
    /// <param name="sequence">Prompt plus generated ids of one row, without left padding.</param>
    /// <param name="promptLength">Number of prompt ids at the start of <paramref name="sequence"/>.</param>
    /// <param name="scores">The row's scores over the vocabulary.</param>
    /// <exception cref="ArgumentException">The banning options (<see cref="GenerationOptions.BadWordsIds"/>, alone or with
    /// <see cref="GenerationOptions.NoRepeatNgramSize"/> or <see cref="GenerationOptions.MinNewTokens"/>) leave no token to generate at this step.</exception>
    public void ApplyProcessors(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        foreach (ILogitsProcessor p in _processors)
            p.Process(sequence, promptLength, scores);
        if (_banningOptions.Length > 0 && !AnyTokenLeft(scores))
            throw new ArgumentException(
                $"{_banningOptions[0]}{(_banningOptions.Length > 1 ? " together with " + string.Join(" and ", _banningOptions[1..]) : "")} bans every token of the vocabulary " +
                $"(ids 0..{scores.Length - 1}) at generated token {sequence.Length - promptLength + 1}, so nothing can be generated; ban fewer ids.",
                _banningOptions[0]);
    }

    // True when some token has a finite score and is not an end-of-sequence id the caller listed in BadWordsIds.
    private bool AnyTokenLeft(ReadOnlySpan<float> scores)
    {
        for (int i = 0; i < scores.Length; i++)
            if (!float.IsNegativeInfinity(scores[i]) && Array.IndexOf(_bannedEosTokenIds, i) < 0)
                return true;
        return false;
    }

    /// <summary>Applies the warpers (temperature, top-k, top-p) in place; does nothing when not sampling.</summary>
    /// <param name="sequence">Prompt plus generated ids of one row, without left padding.</param>
    /// <param name="promptLength">Number of prompt ids at the start of <paramref name="sequence"/>.</param>
    /// <param name="scores">The row's scores over the vocabulary.</param>
    public void ApplyWarpers(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        foreach (ILogitsProcessor w in _warpers)
            w.Process(sequence, promptLength, scores);
    }

    /// <summary>Applies processors and warpers, then returns the next token: sampled with <paramref name="rng"/> when sampling, else the arg-max.</summary>
    /// <param name="sequence">Prompt plus generated ids of one row, without left padding.</param>
    /// <param name="promptLength">Number of prompt ids at the start of <paramref name="sequence"/>.</param>
    /// <param name="scores">The row's logits; left holding the processed scores (HF's <c>scores</c> output).</param>
    /// <param name="rng">The random generator; required when sampling, ignored otherwise.</param>
    public int NextToken(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores, Random? rng)
    {
        ApplyProcessors(sequence, promptLength, scores);
        if (!DoSample)
            return ArgMax(scores);
        ApplyWarpers(sequence, promptLength, scores);
        if (rng is null)
            throw new ArgumentNullException(nameof(rng), "A random generator is required when DoSample is true.");
        return Sample(scores, rng);
    }

    /// <summary>
    /// Draws a token from the softmax of the finite scores by inverse CDF with one <see cref="Random.NextDouble"/> call.
    /// </summary>
    /// <param name="scores">Scores; negative infinity means impossible.</param>
    /// <param name="rng">The random generator.</param>
    /// <exception cref="ArgumentException">No score is finite.</exception>
    public int Sample(ReadOnlySpan<float> scores, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        float max = float.NegativeInfinity;
        int last = -1;
        for (int i = 0; i < scores.Length; i++)
        {
            float s = scores[i];
            if (float.IsFinite(s))
            {
                last = i;
                if (s > max)
                    max = s;
            }
        }
        if (last < 0)
            throw new ArgumentException("Cannot sample: no score is finite (every token was banned).", nameof(scores));
        double sum = 0;
        for (int i = 0; i <= last; i++)
        {
            float s = scores[i];
            if (float.IsFinite(s))
                sum += Math.Exp(s - max);
        }
        double u = rng.NextDouble() * sum;
        double cumulative = 0;
        for (int i = 0; i < last; i++)
        {
            float s = scores[i];
            if (!float.IsFinite(s))
                continue;
            cumulative += Math.Exp(s - max);
            if (u < cumulative)
                return i;
        }
        return last; // u falls in the last finite token's interval (or rounding put it past the end)
    }

    /// <summary>Index of the highest score; the first one when several are equal (as <c>torch.argmax</c>).</summary>
    /// <param name="scores">The scores, not empty.</param>
    public static int ArgMax(ReadOnlySpan<float> scores)
    {
        if (scores.IsEmpty)
            throw new ArgumentException("The scores are empty.", nameof(scores));
        int best = 0;
        float bestValue = scores[0];
        for (int i = 1; i < scores.Length; i++)
        {
            if (scores[i] > bestValue || float.IsNaN(bestValue))
            {
                best = i;
                bestValue = scores[i];
            }
        }
        return best;
    }

    /// <summary>
    /// Writes the <c>k = indices.Length</c> highest finite scores, highest first (ties: lower index first), with their
    /// indices, as <c>torch.topk</c> does for beam search candidates; allocation-free, O(n log k).
    /// </summary>
    /// <param name="scores">The scores (for beam search, the flattened [beams × vocab] scores).</param>
    /// <param name="indices">Receives the indices; its length is k.</param>
    /// <param name="values">Receives the scores; same length as <paramref name="indices"/>.</param>
    /// <returns>How many entries were written: k, or fewer when fewer scores are finite.</returns>
    public static int SelectTopK(ReadOnlySpan<float> scores, Span<int> indices, Span<float> values)
    {
        if (values.Length != indices.Length)
            throw new ArgumentException($"values has {values.Length} entries but indices has {indices.Length}; they must match.", nameof(values));
        int k = indices.Length;
        int count = 0;
        // Min-heap on (score, -index) in indices/values: the root is the weakest candidate kept so far.
        for (int i = 0; i < scores.Length && k > 0; i++)
        {
            float s = scores[i];
            if (!float.IsFinite(s))
                continue;
            if (count < k)
            {
                int c = count++;
                while (c > 0)
                {
                    int parent = (c - 1) / 2;
                    if (!Weaker(s, i, values[parent], indices[parent]))
                        break;
                    values[c] = values[parent];
                    indices[c] = indices[parent];
                    c = parent;
                }
                values[c] = s;
                indices[c] = i;
            }
            else if (Weaker(values[0], indices[0], s, i))
            {
                SiftDown(values, indices, count, s, i);
            }
        }
        // Heap-sort: repeatedly move the weakest to the end, which leaves the strongest first.
        for (int end = count - 1; end > 0; end--)
        {
            float v = values[end];
            int ix = indices[end];
            values[end] = values[0];
            indices[end] = indices[0];
            SiftDown(values, indices, end, v, ix);
        }
        return count;
    }

    // True when candidate a ranks below candidate b (lower score, or equal score and higher index).
    private static bool Weaker(float a, int ia, float b, int ib) => a < b || (a == b && ia > ib);

    private static void SiftDown(Span<float> values, Span<int> indices, int count, float v, int ix)
    {
        int c = 0;
        while (true)
        {
            int child = 2 * c + 1;
            if (child >= count)
                break;
            if (child + 1 < count && Weaker(values[child + 1], indices[child + 1], values[child], indices[child]))
                child++;
            if (!Weaker(values[child], indices[child], v, ix))
                break;
            values[c] = values[child];
            indices[c] = indices[child];
            c = child;
        }
        values[c] = v;
        indices[c] = ix;
    }

    /// <summary>Replaces the scores with their log-softmax in place; negative infinity stays negative infinity.</summary>
    /// <param name="scores">The scores; at least one must be finite.</param>
    public static void LogSoftmax(Span<float> scores)
    {
        float max = MaxFinite(scores, nameof(scores));
        double sum = 0;
        foreach (float s in scores)
            if (s != float.NegativeInfinity)
                sum += Math.Exp(s - max);
        float logSum = (float)Math.Log(sum);
        for (int i = 0; i < scores.Length; i++)
            scores[i] = scores[i] - max - logSum; // subtract max first: large logits keep their precision
    }

    /// <summary>Replaces the scores with their softmax probabilities in place; negative infinity becomes 0.</summary>
    /// <param name="scores">The scores; at least one must be finite.</param>
    public static void Softmax(Span<float> scores)
    {
        float max = MaxFinite(scores, nameof(scores));
        double sum = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            float e = scores[i] == float.NegativeInfinity ? 0f : (float)Math.Exp(scores[i] - max);
            scores[i] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < scores.Length; i++)
            scores[i] *= inv;
    }

    private static float MaxFinite(ReadOnlySpan<float> scores, string name)
    {
        float max = float.NegativeInfinity;
        foreach (float s in scores)
            if (s > max)
                max = s;
        if (!float.IsFinite(max))
            throw new ArgumentException($"The scores must contain at least one finite value (largest found: {max}).", name);
        return max;
    }
}
