using Microsoft.ML;

namespace Aigc.MLNet.Transforms.Data;

/// <summary>Catalog extensions that load MNIST into ML.NET.</summary>
public static class MnistCatalog
{
    /// <summary>
    /// Loads one MNIST split as a streaming <see cref="IDataView"/> read from IDX files (raw or .gz).
    /// </summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | Label | Key&lt;UInt32, 10&gt; | key k is digit k-1; key values are the names "0".."9" |
    /// | Pixels | Vector&lt;Single, 784&gt; | 28x28 pixels row by row, scaled to [0, 1] |
    /// Rows are read from disk as cursors ask for them. The files are fetched by <c>eng/fetch-data.sh</c> into
    /// <see cref="DatasetPaths.MnistFolder"/>; this method never downloads.
    /// </remarks>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="folder">Folder holding <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>.</param>
    /// <param name="split">Training (60,000 rows) or test (10,000 rows).</param>
    /// <param name="maxRows">Only the first rows, or all when null.</param>
    public static IDataView LoadMnist(this DataOperationsCatalog catalog, string folder, MnistSplit split = MnistSplit.Train, int? maxRows = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (maxRows is < 0)
            throw new ArgumentOutOfRangeException(nameof(maxRows), maxRows, "maxRows must be non-negative.");
        var files = MnistFiles.Open(folder, split);
        return new MnistDataView(files, Math.Min(files.Count, maxRows ?? int.MaxValue));
    }

    /// <summary>Loads one MNIST split as a streaming <see cref="IDataView"/>; every option in one object (columns as in the other overload).</summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="folder">Folder holding the four IDX files (raw or .gz).</param>
    /// <param name="options">Split and row limit.</param>
    public static IDataView LoadMnist(this DataOperationsCatalog catalog, string folder, MnistLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return catalog.LoadMnist(folder, options.Split, options.MaxRows);
    }
}

/// <summary>Options of <see cref="MnistCatalog.LoadMnist(DataOperationsCatalog, string, MnistLoaderOptions)"/>.</summary>
public sealed class MnistLoaderOptions
{
    /// <summary>Training (60,000 rows) or test (10,000 rows).</summary>
    public MnistSplit Split { get; set; } = MnistSplit.Train;

    /// <summary>Only the first rows, or all when null (must not be negative).</summary>
    public int? MaxRows { get; set; }
}
