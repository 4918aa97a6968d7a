namespace Aigc.MLNet.Onnx.Generation;

/// <summary>HF <c>TemperatureLogitsWarper</c>: divides every score by the temperature.</summary>
public sealed class TemperatureLogitsWarper : ILogitsProcessor
{
    /// <summary>Creates the warper.</summary>
    /// <param name="temperature">The temperature, a finite number greater than 0.</param>
    public TemperatureLogitsWarper(double temperature)
    {
        if (!double.IsFinite(temperature) || temperature <= 0)
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be a finite number greater than 0.");
        Temperature = (float)temperature;
    }

    /// <summary>The temperature.</summary>
    public float Temperature { get; }

    /// <inheritdoc/>
    public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        float t = Temperature;
        for (int i = 0; i < scores.Length; i++)
            scores[i] /= t;
    }
}

/// <summary>
/// HF <c>TopKLogitsWarper</c>: keeps the k highest scores and sets the others to negative infinity; every score equal to
/// the k-th highest is kept too (HF removes only scores strictly below it).
/// </summary>
/// <remarks>Keeps a scratch heap of k entries: use one instance per thread.</remarks>
public sealed class TopKLogitsWarper : ILogitsProcessor
{
    private readonly float[] _heap;

    /// <summary>Creates the warper.</summary>
    /// <param name="topK">k, at least 1.</param>
    /// <param name="minTokensToKeep">Lower bound on k (HF uses 2 for beam sampling), at least 1.</param>
    public TopKLogitsWarper(int topK, int minTokensToKeep = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(minTokensToKeep, 1);
        TopK = Math.Max(topK, minTokensToKeep);
        _heap = new float[TopK];
    }

    /// <summary>The number of tokens kept (before ties).</summary>
    public int TopK { get; }

    /// <inheritdoc/>
    public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        int k = Math.Min(TopK, scores.Length);
        if (k == 0 || k == scores.Length)
            return;
        // Min-heap of the k largest scores seen so far; its root ends as the k-th largest score.
        Span<float> heap = _heap.AsSpan(0, k);
        for (int i = 0; i < k; i++)
            heap[i] = scores[i];
        for (int i = k / 2 - 1; i >= 0; i--)
            SiftDown(heap, i);
        for (int i = k; i < scores.Length; i++)
        {
            float s = scores[i];
            if (s > heap[0])
            {
                heap[0] = s;
                SiftDown(heap, 0);
            }
        }
        float threshold = heap[0];
        for (int i = 0; i < scores.Length; i++)
            if (scores[i] < threshold)
                scores[i] = float.NegativeInfinity;
    }

    private static void SiftDown(Span<float> heap, int i)
    {
        int n = heap.Length;
        float item = heap[i];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n)
                break;
            if (child + 1 < n && heap[child + 1] < heap[child])
                child++;
            if (!(heap[child] < item))
                break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = item;
    }
}

/// <summary>
/// HF <c>TopPLogitsWarper</c> (nucleus): sorts tokens by descending score and keeps the smallest prefix whose softmax
/// probabilities add up to at least p (at least <c>minTokensToKeep</c> tokens); the others get negative infinity.
/// Ties are ordered by token id.
/// </summary>
/// <remarks>Keeps a scratch buffer sized to the vocabulary: use one instance per thread.</remarks>
public sealed class TopPLogitsWarper : ILogitsProcessor
{
    private ulong[] _keys = [];

    /// <summary>Creates the warper.</summary>
    /// <param name="topP">p, in (0, 1].</param>
    /// <param name="minTokensToKeep">Minimum number of tokens kept, at least 1.</param>
    public TopPLogitsWarper(double topP, int minTokensToKeep = 1)
    {
        if (double.IsNaN(topP) || topP <= 0 || topP > 1)
            throw new ArgumentOutOfRangeException(nameof(topP), topP, "top-p must be in (0, 1].");
        ArgumentOutOfRangeException.ThrowIfLessThan(minTokensToKeep, 1);
        TopP = topP;
        MinTokensToKeep = minTokensToKeep;
    }

    /// <summary>p.</summary>
    public double TopP { get; }

    /// <summary>The minimum number of tokens kept.</summary>
    public int MinTokensToKeep { get; }

    /// <inheritdoc/>
    public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        if (_keys.Length < scores.Length)
            _keys = new ulong[scores.Length];
        // Only finite scores compete (earlier processors set banned tokens to -inf); after top-k that is a short list.
        int count = 0;
        float max = float.NegativeInfinity;
        for (int i = 0; i < scores.Length; i++)
        {
            float s = scores[i];
            if (float.IsFinite(s))
            {
                _keys[count++] = SortKeyDescending(s, i);
                if (s > max)
                    max = s;
            }
        }
        if (count <= MinTokensToKeep)
            return;
        Span<ulong> keys = _keys.AsSpan(0, count);
        keys.Sort();

        double sum = 0;
        for (int r = 0; r < count; r++)
            sum += Math.Exp(scores[IndexOf(keys[r])] - max);
        double limit = TopP * sum; // compare unnormalised masses: keep rank r while the mass before it is below p
        double before = 0;
        int keep = 0;
        for (; keep < count; keep++)
        {
            if (keep >= MinTokensToKeep && before >= limit)
                break;
            before += Math.Exp(scores[IndexOf(keys[keep])] - max);
        }
        for (int r = keep; r < count; r++)
            scores[IndexOf(keys[r])] = float.NegativeInfinity;
    }

    // High 32 bits order scores descending, low 32 bits order ties by ascending token id.
    private static ulong SortKeyDescending(float score, int index)
    {
        uint bits = BitConverter.SingleToUInt32Bits(score);
        uint ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ((ulong)~ascending << 32) | (uint)index;
    }

    private static int IndexOf(ulong key) => (int)(uint)key;
}
