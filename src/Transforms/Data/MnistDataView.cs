using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Data;

/// <summary>
/// A streaming <see cref="IDataView"/> over one MNIST split: each cursor reads the IDX files sequentially, so the
/// 60,000 training images are never all in memory. Columns: <c>Label</c> (key of 10 values: key k is digit k-1,
/// with the digit names "0".."9" as key values) and <c>Pixels</c> (vector of 784 floats in [0, 1]).
/// </summary>
internal sealed class MnistDataView : IDataView
{
    public const string LabelColumn = "Label";
    public const string PixelsColumn = "Pixels";

    private readonly MnistFiles _files;
    private readonly int _rows;

    public MnistDataView(MnistFiles files, int rows)
    {
        _files = files;
        _rows = rows;
        var builder = new DataViewSchema.Builder();
        var keyNames = new DataViewSchema.Annotations.Builder();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> names = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
            dst = new VBuffer<ReadOnlyMemory<char>>(10, Enumerable.Range(0, 10).Select(d => d.ToString().AsMemory()).ToArray());
        keyNames.Add("KeyValues", new VectorDataViewType(TextDataViewType.Instance, 10), names);
        builder.AddColumn(LabelColumn, new KeyDataViewType(typeof(uint), 10), keyNames.ToAnnotations());
        builder.AddColumn(PixelsColumn, new VectorDataViewType(NumberDataViewType.Single, MnistFiles.PixelCount));
        Schema = builder.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(this, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly MnistDataView _parent;
        private readonly bool _pixelsActive;
        private readonly bool _labelActive;
        private readonly Stream? _images;
        private readonly Stream? _labels;
        private readonly byte[] _row = new byte[MnistFiles.PixelCount];
        private byte _label;
        private long _position = -1;
        private bool _disposed;

        public Cursor(MnistDataView parent, IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            _parent = parent;
            foreach (var column in columnsNeeded)
            {
                _labelActive |= column.Index == 0;
                _pixelsActive |= column.Index == 1;
            }
            if (_pixelsActive)
                _images = parent._files.Images.OpenData();
            if (_labelActive)
                _labels = parent._files.Labels.OpenData();
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override ValueGetter<DataViewRowId> GetIdGetter()
            => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column)
            => column.Index == 0 ? _labelActive : column.Index == 1 && _pixelsActive;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created.");
            if (column.Index == 0)
            {
                if (typeof(TValue) != typeof(uint))
                    throw new InvalidOperationException($"Column '{LabelColumn}' is Key<UInt32>; a getter of {typeof(TValue).Name} was requested.");
                ValueGetter<uint> label = (ref uint value) => value = (uint)_label + 1;
                return (ValueGetter<TValue>)(Delegate)label;
            }
            if (typeof(TValue) != typeof(VBuffer<float>))
                throw new InvalidOperationException($"Column '{PixelsColumn}' is Vector<Single, 784>; a getter of {typeof(TValue).Name} was requested.");
            ValueGetter<VBuffer<float>> pixels = (ref VBuffer<float> value) =>
            {
                var editor = VBufferEditor.Create(ref value, MnistFiles.PixelCount);
                for (int p = 0; p < _row.Length; p++)
                    editor.Values[p] = _row[p] / 255f;
                value = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)pixels;
        }

        public override bool MoveNext()
        {
            if (_disposed || _position + 1 >= _parent._rows)
                return false;
            _position++;
            if (_images != null)
                IdxFile.ReadExactly(_images, _row, _parent._files.Images.Path, $"image {_position}");
            if (_labels != null)
            {
                Span<byte> one = stackalloc byte[1];
                IdxFile.ReadExactly(_labels, one, _parent._files.Labels.Path, $"label {_position}");
                if (one[0] > 9)
                    throw new InvalidDataException($"MNIST label file '{_parent._files.Labels.Path}' has label {one[0]} at row {_position}; labels are 0-9.");
                _label = one[0];
            }
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (_disposed)
                return;
            _disposed = true;
            if (disposing)
            {
                _images?.Dispose();
                _labels?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
