using Aigc.MLNet.Transforms.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Data;

[TestClass]
public sealed class MnistTests
{
    private static readonly int[] TrainLabelCounts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];

    [TestMethod]
    public void TrainSplitStreamsAllRowsWithKnownLabelCounts()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Train);
        Assert.AreEqual(60_000L, data.GetRowCount());
        Assert.AreEqual(new KeyDataViewType(typeof(uint), 10), data.Schema["Label"].Type);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 784), data.Schema["Pixels"].Type);

        var counts = new int[10];
        float min = float.MaxValue, max = float.MinValue;
        int rows = 0;
        using (var cursor = data.GetRowCursor(data.Schema))
        {
            var label = cursor.GetGetter<uint>(data.Schema["Label"]);
            var pixels = cursor.GetGetter<VBuffer<float>>(data.Schema["Pixels"]);
            uint key = 0;
            VBuffer<float> image = default;
            while (cursor.MoveNext())
            {
                label(ref key);
                pixels(ref image);
                counts[key - 1]++;
                foreach (float p in image.DenseValues())
                {
                    min = Math.Min(min, p);
                    max = Math.Max(max, p);
                }
                rows++;
            }
        }
        Assert.AreEqual(60_000, rows);
        CollectionAssert.AreEqual(TrainLabelCounts, counts);
        Assert.AreEqual(0f, min);
        Assert.AreEqual(1f, max);
    }

    [TestMethod]
    public void TestSplitHasTenThousandRowsAndKeyNames()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Test);
        Assert.AreEqual(10_000L, data.GetRowCount());
        VBuffer<ReadOnlyMemory<char>> names = default;
        data.Schema["Label"].GetKeyValues(ref names);
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Select(d => d.ToString()).ToArray(),
            names.DenseValues().Select(n => n.ToString()).ToArray());
        // The first MNIST test digit is a 7.
        var first = ml.Data.CreateEnumerable<Row>(ml.Data.TakeRows(data, 1), reuseRowObject: false).Single();
        Assert.AreEqual(8u, first.Label);
    }

    [TestMethod]
    public void MaterialisedSplitMatchesStreamingView()
    {
        var set = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Test, maxRows: 100);
        Assert.AreEqual(100, set.Count);
        Assert.AreEqual(100 * 784, set.Pixels.Length);
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.CreateEnumerable<Row>(ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Test, maxRows: 100), reuseRowObject: false).ToArray();
        Assert.AreEqual(100, rows.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.AreEqual(set.Labels[i] + 1u, rows[i].Label);
            CollectionAssert.AreEqual(set.Pixels.AsSpan(i * 784, 784).ToArray(), rows[i].Pixels);
        }
        Assert.AreEqual(7, set.Labels[0]);
        Assert.AreEqual(2, set.Labels[1]);
    }

    [TestMethod]
    public void GzipFilesGiveTheSameRows()
    {
        string dir = TempFolder();
        foreach (string name in Directory.GetFiles(DatasetPaths.MnistFolder, "t10k-*"))
        {
            using var src = File.OpenRead(name);
            using var dst = new System.IO.Compression.GZipStream(File.Create(Path.Combine(dir, Path.GetFileName(name) + ".gz")), System.IO.Compression.CompressionLevel.Fastest);
            src.CopyTo(dst);
        }
        var raw = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Test, maxRows: 50);
        var gz = MnistDataset.Load(dir, MnistSplit.Test, maxRows: 50);
        CollectionAssert.AreEqual(raw.Labels, gz.Labels);
        CollectionAssert.AreEqual(raw.Pixels, gz.Pixels);
    }

    [TestMethod]
    public void TruncatedImageFileIsRejectedNamingTheFile()
    {
        string dir = TempFolder();
        CopySplit(dir, "t10k");
        string images = Path.Combine(dir, "t10k-images-idx3-ubyte");
        using (var f = new FileStream(images, FileMode.Open))
            f.SetLength(f.Length - 100);
        var ml = new MLContext();
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => ml.Data.LoadMnist(dir, MnistSplit.Test));
        StringAssert.Contains(ex.Message, images);
        StringAssert.Contains(ex.Message, "truncated");
    }

    [TestMethod]
    public void BadMagicIsRejectedNamingTheFile()
    {
        string dir = TempFolder();
        CopySplit(dir, "t10k");
        string labels = Path.Combine(dir, "t10k-labels-idx1-ubyte");
        var bytes = File.ReadAllBytes(labels);
        bytes[3] = 3;
        File.WriteAllBytes(labels, bytes);
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => MnistDataset.Load(dir, MnistSplit.Test));
        StringAssert.Contains(ex.Message, labels);
        StringAssert.Contains(ex.Message, "magic");
    }

    [TestMethod]
    public void MissingFolderSaysHowToFetch()
    {
        var ml = new MLContext();
        var ex = Assert.ThrowsExactly<DirectoryNotFoundException>(() => ml.Data.LoadMnist("/nonexistent/mnist"));
        StringAssert.Contains(ex.Message, "/nonexistent/mnist");
        StringAssert.Contains(ex.Message, DatasetPaths.FetchCommand);
    }

    private static string TempFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void CopySplit(string dir, string prefix)
    {
        foreach (string name in Directory.GetFiles(DatasetPaths.MnistFolder, prefix + "-*"))
            File.Copy(name, Path.Combine(dir, Path.GetFileName(name)));
    }

    private sealed class Row
    {
        public uint Label { get; set; }

        [VectorType(784)]
        public float[] Pixels { get; set; } = [];
    }
}
