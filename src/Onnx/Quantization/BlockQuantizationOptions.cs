namespace Aigc.MLNet.Onnx.Quantization;

/// <summary>
/// Weight-only block quantization settings for ONNX Runtime's <c>com.microsoft.MatMulNBits</c>: every block of
/// <see cref="BlockSize"/> consecutive weights along the reduction axis (K) of one output column gets its own scale
/// (and, when asymmetric, its own zero point); activations stay fp32.
/// </summary>
public sealed class BlockQuantizationOptions
{
    /// <summary>Bits per weight: 4 or 8.</summary>
    public int Bits { get; set; } = 4;

    /// <summary>
    /// Weights per block along K: a power of two from 16 to 256, or <see cref="Automatic"/> (the default): the largest of
    /// 128, 64, 32 and 16 that divides the model width. Bigger blocks store fewer scales and decode faster (q4 at block 128
    /// vs 32: 3.79x vs 3.57x fp32's speed here) for a little more error (+0.7–1.7 % perplexity at q4; docs/BENCHMARKS.md).
    /// </summary>
    public int BlockSize { get; set; } = Automatic;

    /// <summary><see cref="BlockSize"/> chosen from the width: the largest of 128, 64, 32 and 16 that divides it.</summary>
    public const int Automatic = 0;

    /// <summary>
    /// Symmetric blocks (default true): zero point 2^(bits−1), scale = max |w| / (2^(bits−1) − 1), so 0 is exact.
    /// False stores a zero point per block and uses the block's minimum and maximum (one more level of range).
    /// </summary>
    public bool Symmetric { get; set; } = true;

    /// <summary>
    /// MatMulNBits <c>accuracy_level</c>: the precision ONNX Runtime may use for the activations inside the kernel.
    /// 4 (int8, the default) takes the fast integer path on CPUs with AVX2/AVX-512/NEON; 0 means "unset", which makes the
    /// CPU kernel dequantize to fp32 and is slower than fp32 weights on AVX2-only CPUs (measured, docs/BENCHMARKS.md).
    /// </summary>
    public int AccuracyLevel { get; set; } = 4;

    /// <summary>
    /// Quantize the tied output head (the largest weight of a GPT-2: 38.6 M of GPT-2 small's 124 M parameters) too. The
    /// token-embedding lookup then reads the same quantized matrix (<c>com.microsoft.GatherBlockQuantized</c>), so the
    /// fp32 embedding is not stored at all; false keeps head and embedding fp32.
    /// </summary>
    public bool QuantizeHead { get; set; } = true;

    /// <summary>A short name for folders and logs, e.g. "q4-b32-sym-acc4".</summary>
    public string Tag => $"q{Bits}-b{(BlockSize == Automatic ? "auto" : BlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture))}-{(Symmetric ? "sym" : "asym")}-acc{AccuracyLevel}";

    /// <summary>Checks every setting and throws naming the first invalid one.</summary>
    public void Validate()
    {
        if (Bits is not (4 or 8))
            throw new ArgumentOutOfRangeException(nameof(Bits), Bits, "Bits must be 4 or 8.");
        if (BlockSize != Automatic && (BlockSize < 16 || BlockSize > 256 || (BlockSize & (BlockSize - 1)) != 0))
            throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "BlockSize must be 0 (automatic) or a power of two from 16 to 256.");
        if (AccuracyLevel is < 0 or > 4)
            throw new ArgumentOutOfRangeException(nameof(AccuracyLevel), AccuracyLevel, "AccuracyLevel must be 0 (unset) to 4 (int8).");
    }

    /// <summary>
    /// A copy with an <see cref="Automatic"/> block size replaced by the largest of 128, 64, 32 and 16 that divides
    /// <paramref name="width"/> (an explicit block size is kept); null when none does.
    /// </summary>
    public BlockQuantizationOptions? ForWidth(int width)
    {
        var copy = Clone();
        if (copy.BlockSize != Automatic) return copy;
        foreach (int size in AutomaticSizes)
            if (width % size == 0)
            {
                copy.BlockSize = size;
                return copy;
            }
        return null;
    }

    /// <summary>The block sizes <see cref="Automatic"/> tries, largest first.</summary>
    internal static readonly int[] AutomaticSizes = [128, 64, 32, 16];

    /// <summary>Returns a copy.</summary>
    public BlockQuantizationOptions Clone() => (BlockQuantizationOptions)MemberwiseClone();
}
