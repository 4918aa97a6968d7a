namespace Aigc.MLNet.Transforms.Data;

/// <summary>
/// One MNIST split held in memory as tensor-ready arrays: <see cref="Pixels"/> is laid out as [N, 1, 28, 28]
/// (row-major, values in [0, 1]) and <see cref="Labels"/> holds the digits 0-9.
/// </summary>
public sealed class MnistDataset
{
    /// <summary>Height and width of an image.</summary>
    public const int ImageSide = MnistFiles.Side;

    /// <summary>Pixels per image (784).</summary>
    public const int PixelCount = MnistFiles.PixelCount;

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Pixels scaled to [0, 1], <see cref="Count"/> x 784 values, i.e. a [N, 1, 28, 28] tensor.</summary>
    public float[] Pixels { get; }

    /// <summary>The digit (0-9) of each image.</summary>
    public byte[] Labels { get; }

    private MnistDataset(float[] pixels, byte[] labels)
    {
        Pixels = pixels;
        Labels = labels;
        Count = labels.Length;
    }

    /// <summary>Reads a split from a folder holding the IDX files (raw or .gz).</summary>
    /// <param name="folder">Folder with <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-*</c>.</param>
    /// <param name="split">Training or test split.</param>
    /// <param name="maxRows">Read only the first rows, or all when null.</param>
    public static MnistDataset Load(string folder, MnistSplit split = MnistSplit.Train, int? maxRows = null)
    {
        if (maxRows is < 0)
            throw new ArgumentOutOfRangeException(nameof(maxRows), maxRows, "maxRows must be non-negative.");
        var files = MnistFiles.Open(folder, split);
        int n = Math.Min(files.Count, maxRows ?? int.MaxValue);
        var labels = new byte[n];
        using (var labelStream = files.Labels.OpenData())
            IdxFile.ReadExactly(labelStream, labels, files.Labels.Path, "labels");
        var pixels = new float[(long)n * PixelCount];
        var row = new byte[PixelCount];
        using var imageStream = files.Images.OpenData();
        for (int i = 0; i < n; i++)
        {
            IdxFile.ReadExactly(imageStream, row, files.Images.Path, $"image {i}");
            var dst = pixels.AsSpan(i * PixelCount, PixelCount);
            for (int p = 0; p < PixelCount; p++)
                dst[p] = row[p] / 255f;
        }
        return new MnistDataset(pixels, labels);
    }
}
