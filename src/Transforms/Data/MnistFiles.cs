namespace Aigc.MLNet.Transforms.Data;

/// <summary>Finds and validates the image and label IDX files of one MNIST split.</summary>
internal sealed class MnistFiles
{
    public const int Side = 28;
    public const int PixelCount = Side * Side;

    public IdxFile Images { get; }
    public IdxFile Labels { get; }
    public int Count { get; }

    private MnistFiles(IdxFile images, IdxFile labels, int count)
    {
        Images = images;
        Labels = labels;
        Count = count;
    }

    public static MnistFiles Open(string folder, MnistSplit split)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"MNIST folder '{folder}' was not found. Fetch MNIST with `{DatasetPaths.FetchCommand}`.");
        string prefix = split == MnistSplit.Train ? "train" : "t10k";
        var images = IdxFile.Open(Find(folder, $"{prefix}-images-idx3-ubyte"), expectedRank: 3);
        var labels = IdxFile.Open(Find(folder, $"{prefix}-labels-idx1-ubyte"), expectedRank: 1);
        if (images.Dimensions[1] != Side || images.Dimensions[2] != Side)
            throw new InvalidDataException($"IDX file '{images.Path}' holds {images.Dimensions[1]}x{images.Dimensions[2]} images; MNIST images are {Side}x{Side}.");
        if (images.Dimensions[0] != labels.Dimensions[0])
            throw new InvalidDataException($"MNIST image file '{images.Path}' has {images.Dimensions[0]:N0} images but label file '{labels.Path}' has {labels.Dimensions[0]:N0} labels.");
        return new MnistFiles(images, labels, images.Dimensions[0]);
    }

    private static string Find(string folder, string name)
    {
        string raw = Path.Combine(folder, name);
        if (File.Exists(raw))
            return raw;
        string gz = raw + ".gz";
        if (File.Exists(gz))
            return gz;
        throw new FileNotFoundException($"MNIST file '{name}' (or '{name}.gz') was not found in '{folder}'. Fetch MNIST with `{DatasetPaths.FetchCommand}`.", raw);
    }
}
