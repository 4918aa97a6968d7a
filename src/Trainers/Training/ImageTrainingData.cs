using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Training;

/// <summary>Training rows read once from an <see cref="IDataView"/> into memory, validated.</summary>
internal sealed class ImageTrainingData
{
    public required float[] Pixels { get; init; }
    public long[]? Labels { get; init; }
    public required int Count { get; init; }
    public required int Features { get; init; }

    /// <summary>Reads a Vector&lt;Single, <paramref name="features"/>&gt; pixel column (and optionally a label column).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type.</exception>
    /// <exception cref="InvalidDataException">The data is empty or holds pixels outside [0, 1] (NaN, ∞, 0..255 bytes) or out-of-range labels.</exception>
    public static ImageTrainingData Read(IDataView data, string pixelColumn, int features, string? labelColumn, int classCount)
    {
        ArgumentNullException.ThrowIfNull(data);
        var pixels = data.Schema.GetColumnOrNull(pixelColumn)
            ?? throw new ArgumentOutOfRangeException(nameof(data),
                $"Pixel column '{pixelColumn}' (PixelColumnName) was not found; expected Vector<Single, {features}>. Columns: {string.Join(", ", data.Schema.Select(c => c.Name))}.");
        if (pixels.Type is not VectorDataViewType { ItemType: NumberDataViewType t } vt || t != NumberDataViewType.Single || vt.Size != features)
            throw new ArgumentOutOfRangeException(nameof(data),
                $"Pixel column '{pixelColumn}' (PixelColumnName) has type {pixels.Type}; expected Vector<Single, {features}> (28x28 pixels in [0, 1]).");
        DataViewSchema.Column? labels = null;
        if (labelColumn is not null)
        {
            labels = data.Schema.GetColumnOrNull(labelColumn)
                ?? throw new ArgumentOutOfRangeException(nameof(data),
                    $"Label column '{labelColumn}' (LabelColumnName) was not found; a conditional GAN needs a Key<UInt32, {classCount}> or Int32 class column. Columns: {string.Join(", ", data.Schema.Select(c => c.Name))}.");
            var lt = labels.Value.Type;
            bool ok = lt is KeyDataViewType { RawType: var raw } k && raw == typeof(uint) && (ulong)k.Count == (ulong)classCount || lt == NumberDataViewType.Int32;
            if (!ok)
                throw new ArgumentOutOfRangeException(nameof(data),
                    $"Label column '{labelColumn}' (LabelColumnName) has type {lt}; expected Key<UInt32, {classCount}> or Int32 classes 0..{classCount - 1}.");
        }

        // Sized up front when the view knows its row count, so 60k MNIST rows make one array, not a chain of doublings.
        int capacity = (int)Math.Min(data.GetRowCount() ?? 0, int.MaxValue / features);
        var pixelList = new List<float>(capacity * features);
        var labelList = labels is null ? null : new List<long>(capacity);
        var active = labels is null ? new[] { pixels } : new[] { pixels, labels.Value };
        using (var cursor = data.GetRowCursor(active))
        {
            var getPixels = cursor.GetGetter<VBuffer<float>>(pixels);
            ValueGetter<uint>? getKey = labels is { Type: KeyDataViewType } ? cursor.GetGetter<uint>(labels.Value) : null;
            ValueGetter<int>? getInt = labels is { Type: NumberDataViewType } ? cursor.GetGetter<int>(labels.Value) : null;
            VBuffer<float> buffer = default;
            long row = 0;
            while (cursor.MoveNext())
            {
                getPixels(ref buffer);
                int start = pixelList.Count;
                foreach (float v in buffer.DenseValues())
                {
                    if (!float.IsFinite(v) || v < 0 || v > 1)
                        throw new InvalidDataException(
                            $"Pixel column '{pixelColumn}': row {row}, pixel {pixelList.Count - start} is {v}; pixels must be finite values in [0, 1]" +
                            (v > 1 && float.IsFinite(v) ? " (divide 0..255 bytes by 255 first)." : "."));
                    pixelList.Add(v);
                }
                if (labelList is not null)
                {
                    long label;
                    if (getKey is not null)
                    {
                        uint key = 0;
                        getKey(ref key);
                        if (key == 0) throw new InvalidDataException($"Label column '{labelColumn}': row {row} has a missing key.");
                        label = key - 1;
                    }
                    else
                    {
                        int value = 0;
                        getInt!(ref value);
                        label = value;
                    }
                    if (label < 0 || label >= classCount)
                        throw new InvalidDataException($"Label column '{labelColumn}': row {row} has class {label}, outside 0..{classCount - 1}.");
                    labelList.Add(label);
                }
                row++;
            }
            if (row == 0)
                throw new InvalidDataException($"The training data is empty: pixel column '{pixelColumn}' has no rows.");
            return new ImageTrainingData { Pixels = pixelList.ToArray(), Labels = labelList?.ToArray(), Count = (int)row, Features = features };
        }
    }
}
