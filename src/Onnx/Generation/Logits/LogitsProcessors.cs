namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// HF <c>RepetitionPenaltyLogitsProcessor</c>: for every distinct token id present in the sequence (prompt included), a
/// negative score is multiplied by the penalty and a positive one divided by it.
/// </summary>
/// <remarks>Keeps a scratch buffer sized to the vocabulary: use one instance per thread.</remarks>
public sealed class RepetitionPenaltyLogitsProcessor : ILogitsProcessor
{
    private int[] _seen = [];
    private int _stamp;

    /// <summary>Creates the processor.</summary>
    /// <param name="penalty">The penalty, greater than 0; 1 changes nothing, above 1 discourages repetition.</param>
    public RepetitionPenaltyLogitsProcessor(double penalty)
    {
        if (!double.IsFinite(penalty) || penalty <= 0)
            throw new ArgumentOutOfRangeException(nameof(penalty), penalty, "The repetition penalty must be a finite number greater than 0.");
        Penalty = (float)penalty;
    }

    /// <summary>The penalty.</summary>
    public float Penalty { get; }

    /// <inheritdoc/>
    public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        if (_seen.Length < scores.Length)
        {
            _seen = new int[scores.Length];
            _stamp = 0;
        }
        if (_stamp == int.MaxValue)
        {
            Array.Clear(_seen);
            _stamp = 0;
        }
        int stamp = ++_stamp;
        float penalty = Penalty;
        foreach (int id in sequence)
        {
            LogitsChecks.CheckTokenId(id, scores.Length, nameof(sequence));
            if (_seen[id] == stamp)
                continue; // each distinct id is penalised once, as HF's gather/scatter does
            _seen[id] = stamp;
            float s = scores[id];
            scores[id] = s < 0 ? s * penalty : s / penalty;
        }
    }
}

/// <summary>
/// HF <c>NoRepeatNGramLogitsProcessor</c>: bans every token that would complete an n-gram already present in the
/// sequence (prompt included).
/// </summary>
public sealed class NoRepeatNGramLogitsProcessor : ILogitsProcessor
{
    /// <summary>Creates the processor.</summary>
    /// <param name="ngramSize">The n-gram size, at least 1.</param>
    public NoRepeatNGramLogitsProcessor(int ngramSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ngramSize, 1);
        NgramSize = ngramSize;
    }

    /// <summary>The n-gram size.</summary>
    public int NgramSize { get; }

    /// <inheritdoc/>
    public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        int n = NgramSize;
        int len = sequence.Length;
        if (len + 1 < n)
            return;
        // The n-gram being completed starts with the last n-1 ids; ban the continuation of every earlier match.
        ReadOnlySpan<int> prefix = sequence.Slice(len - n + 1);
        for (int i = 0; i + n <= len; i++)
        {
            if (sequence.Slice(i, n - 1).SequenceEqual(prefix))
            {
                int banned = sequence[i + n - 1];
                LogitsChecks.CheckTokenId(banned, scores.Length, nameof(sequence));
                scores[banned] = float.NegativeInfinity;
            }
        }
    }
}

/// <summary>
/// HF <c>NoBadWordsLogitsProcessor</c>: a single-id bad word is always banned; for a longer bad word, its last id is
/// banned whenever the sequence ends with its other ids. Bad words equal to a single end-of-sequence id are ignored, as in HF.
/// </summary>
public sealed class NoBadWordsLogitsProcessor : ILogitsProcessor
{
    private readonly int[] _singleTokens;
    private readonly int[][] _sequences;

    /// <summary>Creates the processor.</summary>
    /// <param name="badWordsIds">The banned id sequences; each non-empty with ids of 0 or more.</param>
    /// <param name="eosTokenIds">End-of-sequence ids; single-id bad words equal to one of them are dropped, as HF does.</param>
    public NoBadWordsLogitsProcessor(IReadOnlyList<int[]> badWordsIds, IReadOnlyList<int>? eosTokenIds = null)
    {
        ArgumentNullException.ThrowIfNull(badWordsIds);
        var singles = new List<int>();
        var multi = new List<int[]>();
        for (int i = 0; i < badWordsIds.Count; i++)
        {
            int[]? seq = badWordsIds[i];
            if (seq is null || seq.Length == 0)
                throw new ArgumentException($"badWordsIds[{i}] must be a non-empty array of token ids.", nameof(badWordsIds));
            foreach (int id in seq)
                if (id < 0)
                    throw new ArgumentException($"badWordsIds[{i}] contains {id}; token ids must be 0 or more.", nameof(badWordsIds));
            if (seq.Length == 1)
            {
                if (eosTokenIds is null || !eosTokenIds.Contains(seq[0]))
                    singles.Add(seq[0]);
            }
            else
            {
                multi.Add((int[])seq.Clone());
            }
        }
        _singleTokens = singles.ToArray();
        _sequences = multi.ToArray();
    }

    /// <inheritdoc/>
    public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        foreach (int id in _singleTokens)
        {
            LogitsChecks.CheckTokenId(id, scores.Length, "BadWordsIds");
            scores[id] = float.NegativeInfinity;
        }
        foreach (int[] bad in _sequences)
        {
            int prefixLength = bad.Length - 1;
            if (sequence.Length < prefixLength)
                continue;
            if (sequence.Slice(sequence.Length - prefixLength).SequenceEqual(bad.AsSpan(0, prefixLength)))
            {
                int id = bad[prefixLength];
                LogitsChecks.CheckTokenId(id, scores.Length, "BadWordsIds");
                scores[id] = float.NegativeInfinity;
            }
        }
    }
}

/// <summary>
/// HF <c>MinNewTokensLengthLogitsProcessor</c>: end-of-sequence ids get negative infinity until at least the minimum number
/// of new tokens (ids after the prompt) have been generated.
/// </summary>
public sealed class MinNewTokensLengthLogitsProcessor : ILogitsProcessor
{
    private readonly int[] _eosTokenIds;

    /// <summary>Creates the processor.</summary>
    /// <param name="minNewTokens">Minimum number of generated tokens, 0 or more.</param>
    /// <param name="eosTokenIds">The end-of-sequence ids to suppress.</param>
    public MinNewTokensLengthLogitsProcessor(int minNewTokens, IReadOnlyList<int> eosTokenIds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minNewTokens);
        ArgumentNullException.ThrowIfNull(eosTokenIds);
        MinNewTokens = minNewTokens;
        _eosTokenIds = eosTokenIds.ToArray();
        foreach (int id in _eosTokenIds)
            if (id < 0)
                throw new ArgumentException($"End-of-sequence id {id} is negative; token ids must be 0 or more.", nameof(eosTokenIds));
    }

    /// <summary>The minimum number of new tokens.</summary>
    public int MinNewTokens { get; }

    /// <inheritdoc/>
    public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        if ((uint)promptLength > (uint)sequence.Length)
            throw new ArgumentOutOfRangeException(nameof(promptLength), promptLength, $"The prompt length must be between 0 and the sequence length ({sequence.Length}).");
        if (sequence.Length - promptLength >= MinNewTokens)
            return;
        foreach (int id in _eosTokenIds)
        {
            LogitsChecks.CheckTokenId(id, scores.Length, "eosTokenIds");
            scores[id] = float.NegativeInfinity;
        }
    }
}

internal static class LogitsChecks
{
    public static void CheckTokenId(int id, int vocabSize, string source)
    {
        if ((uint)id >= (uint)vocabSize)
            throw new ArgumentException($"Token id {id} in {source} is outside the vocabulary of the scores (0..{vocabSize - 1}).", source);
    }
}
