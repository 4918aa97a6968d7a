using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Tests.Images;

/// <summary>Tiny synthetic image data for trainer tests.</summary>
internal static class ImageTestData
{
    public static float[] Pixels(int rows, int seed)
    {
        var rng = new Random(seed);
        var p = new float[rows * 784];
        for (int i = 0; i < p.Length; i++) p[i] = rng.NextSingle() < 0.8f ? 0f : rng.NextSingle();
        return p;
    }

    public static IDataView View(MLContext ml, int rows, int seed = 3, bool withLabels = false)
    {
        var p = Pixels(rows, seed);
        if (withLabels)
            return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new LabeledRow { Pixels = p.AsSpan(i * 784, 784).ToArray(), Label = i % 10 }));
        return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new Row { Pixels = p.AsSpan(i * 784, 784).ToArray() }));
    }

    public static string TempFolder(string name)
    {
        string path = Path.Combine(Path.GetTempPath(), "aigc-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    public sealed class Row
    {
        [VectorType(784)]
        public float[] Pixels { get; set; } = [];
    }

    public sealed class LabeledRow
    {
        [VectorType(784)]
        public float[] Pixels { get; set; } = [];
        public int Label { get; set; }
    }

    public sealed class SmallRow
    {
        [VectorType(10)]
        public float[] Pixels { get; set; } = [];
    }

    public sealed class IntRow
    {
        public int Pixels { get; set; }
    }
}
