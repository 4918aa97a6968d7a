namespace Aigc.MLNet.Onnx.Quantization;

/// <summary>
/// A weight matrix quantized for <c>com.microsoft.MatMulNBits</c>, which computes Y = A · dequant(B)ᵀ for A [.., K]:
/// <see cref="Data"/> is uint8 [N, kBlocks, blockSize·bits/8] with the codes of each output row packed along K, low
/// nibble first for 4 bits; <see cref="Scales"/> is [N · kBlocks]; <see cref="ZeroPoints"/> (asymmetric only) holds
/// [N · ceil(kBlocks·bits/8)] bytes, packed like the codes. A weight dequantizes to (code − zero point) · scale.
/// </summary>
public sealed class QuantizedMatrix
{
    internal QuantizedMatrix(int n, int k, BlockQuantizationOptions options, byte[] data, float[] scales, byte[]? zeroPoints)
    {
        N = n;
        K = k;
        Options = options;
        Data = data;
        Scales = scales;
        ZeroPoints = zeroPoints;
    }

    /// <summary>Output columns (rows of B).</summary>
    public int N { get; }

    /// <summary>Reduction length.</summary>
    public int K { get; }

    /// <summary>The settings used.</summary>
    public BlockQuantizationOptions Options { get; }

    /// <summary>Blocks per output row: ceil(K / BlockSize).</summary>
    public int BlocksPerRow => (K + Options.BlockSize - 1) / Options.BlockSize;

    /// <summary>Bytes per block.</summary>
    public int BlobSize => Options.BlockSize * Options.Bits / 8;

    /// <summary>Packed codes, [N, BlocksPerRow, BlobSize].</summary>
    public byte[] Data { get; }

    /// <summary>Scales, [N · BlocksPerRow].</summary>
    public float[] Scales { get; }

    /// <summary>Packed zero points (asymmetric), or null: the default 2^(bits−1).</summary>
    public byte[]? ZeroPoints { get; }

    /// <summary>Bytes per row of packed zero points.</summary>
    public int ZeroPointBytesPerRow => (BlocksPerRow * Options.Bits + 7) / 8;

    /// <summary>The zero point of block <paramref name="block"/> of row <paramref name="row"/>.</summary>
    public int ZeroPoint(int row, int block)
    {
        int bits = Options.Bits;
        if (ZeroPoints is null) return 1 << (bits - 1);
        if (bits == 8) return ZeroPoints[row * ZeroPointBytesPerRow + block];
        byte b = ZeroPoints[row * ZeroPointBytesPerRow + block / 2];
        return (block & 1) == 0 ? b & 0x0F : b >> 4;
    }

    /// <summary>The code of weight (row, k).</summary>
    public int Code(int row, int k)
    {
        int block = k / Options.BlockSize, inBlock = k % Options.BlockSize;
        int offset = (row * BlocksPerRow + block) * BlobSize;
        if (Options.Bits == 8) return Data[offset + inBlock];
        byte b = Data[offset + inBlock / 2];
        return (inBlock & 1) == 0 ? b & 0x0F : b >> 4;
    }

    /// <summary>Dequantizes back to rows of B: [N, K] row-major (for checks and error measurements).</summary>
    public float[] DequantizeRows()
    {
        var rows = new float[(long)N * K];
        for (int r = 0; r < N; r++)
            for (int k = 0; k < K; k++)
            {
                int block = k / Options.BlockSize;
                rows[(long)r * K + k] = (Code(r, k) - ZeroPoint(r, block)) * Scales[r * BlocksPerRow + block];
            }
        return rows;
    }
}

/// <summary>Quantizes fp32 weight matrices block by block for <c>com.microsoft.MatMulNBits</c> (see <see cref="QuantizedMatrix"/>).</summary>
public static class BlockQuantizer
{
    /// <summary>
    /// Quantizes a weight used as <c>x · W</c> with W [K, N] row-major (a Hugging Face Conv1D / ONNX MatMul weight):
    /// MatMulNBits wants the rows of Wᵀ, so the matrix is transposed on the way.
    /// </summary>
    /// <param name="weight">W, K × N values.</param>
    /// <param name="k">Rows of W (the reduction length).</param>
    /// <param name="n">Columns of W (outputs).</param>
    /// <param name="options">Bits, block size, symmetry.</param>
    public static QuantizedMatrix QuantizeKxN(ReadOnlySpan<float> weight, int k, int n, BlockQuantizationOptions options)
    {
        CheckShape(weight.Length, k, n, nameof(weight));
        var rows = new float[(long)n * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++)
                rows[(long)j * k + i] = weight[i * n + j];
        return QuantizeRows(rows, n, k, options);
    }

    /// <summary>Quantizes B given as N rows of K values (e.g. a tied embedding [vocab, width] used as the output head).</summary>
    /// <param name="rows">N × K values, row-major.</param>
    /// <param name="n">Rows (outputs).</param>
    /// <param name="k">Row length (the reduction length).</param>
    /// <param name="options">Bits, block size, symmetry.</param>
    public static QuantizedMatrix QuantizeRows(ReadOnlySpan<float> rows, int n, int k, BlockQuantizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // An automatic block size is chosen from K here; a K no size divides gets blocks of 32 and a shorter last one.
        if (options.ForWidth(k) is { } resolved) options = resolved;
        else
        {
            options = options.Clone();
            options.BlockSize = 32;
        }
        CheckShape(rows.Length, n, k, nameof(rows));
        int bits = options.Bits, blockSize = options.BlockSize, maxCode = (1 << bits) - 1;
        int blocks = (k + blockSize - 1) / blockSize, blob = blockSize * bits / 8;
        var data = new byte[(long)n * blocks * blob];
        var scales = new float[n * blocks];
        int zpRow = (blocks * bits + 7) / 8;
        byte[]? zeroPoints = options.Symmetric ? null : new byte[n * zpRow];
        int symmetricZero = 1 << (bits - 1);
        for (int r = 0; r < n; r++)
        {
            var row = rows.Slice(r * k, k);
            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize, end = Math.Min(k, start + blockSize);
                var block = row[start..end];
                float scale;
                int zero;
                if (options.Symmetric)
                {
                    float absMax = 0;
                    foreach (float w in block) absMax = Math.Max(absMax, Math.Abs(w));
                    scale = absMax / (symmetricZero - 1);
                    zero = symmetricZero;
                }
                else
                {
                    // The range always holds 0, so zero weights stay exact (as ONNX Runtime's quantizer does).
                    float min = 0, max = 0;
                    foreach (float w in block) { min = Math.Min(min, w); max = Math.Max(max, w); }
                    scale = (max - min) / maxCode;
                    zero = scale == 0 ? 0 : Math.Clamp((int)MathF.Round(-min / scale), 0, maxCode);
                    if (bits == 8) zeroPoints![r * zpRow + b] = (byte)zero;
                    else zeroPoints![r * zpRow + b / 2] |= (byte)((b & 1) == 0 ? zero : zero << 4);
                }
                scales[r * blocks + b] = scale;
                long offset = ((long)r * blocks + b) * blob;
                for (int i = 0; i < end - start; i++)
                {
                    int code = scale == 0 ? zero : Math.Clamp((int)MathF.Round(block[i] / scale) + zero, 0, maxCode);
                    if (bits == 8) data[offset + i] = (byte)code;
                    else data[offset + i / 2] |= (byte)((i & 1) == 0 ? code : code << 4);
                }
                // Padding past K (a last partial block) keeps the zero point's code, so it dequantizes to 0.
                for (int i = end - start; i < blockSize; i++)
                {
                    if (bits == 8) data[offset + i] = (byte)zero;
                    else data[offset + i / 2] |= (byte)((i & 1) == 0 ? zero : zero << 4);
                }
            }
        }
        return new QuantizedMatrix(n, k, options, data, scales, zeroPoints);
    }

    private static void CheckShape(int length, int rows, int columns, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if (length != (long)rows * columns)
            throw new ArgumentException($"{name} holds {length} values; expected {rows} × {columns} = {(long)rows * columns}.", name);
    }
}
