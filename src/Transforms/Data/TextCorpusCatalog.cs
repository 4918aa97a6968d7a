using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Data;

/// <summary>Catalog extensions that load a text corpus into ML.NET.</summary>
public static class TextCorpusCatalog
{
    /// <summary>Loads a UTF-8 text file as a streaming <see cref="IDataView"/> with one text column.</summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | Text (<see cref="TextCorpusOptions.ColumnName"/>) | String | a line, paragraph, chunk or the whole file |
    /// The file is read as cursors ask for rows; nothing is downloaded.
    /// </remarks>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">The text file.</param>
    /// <param name="unit">How the file is cut into rows.</param>
    /// <param name="chunkLength">Characters per row with <see cref="TextCorpusUnit.Chunks"/>.</param>
    public static IDataView LoadTextCorpus(this DataOperationsCatalog catalog, string path, TextCorpusUnit unit = TextCorpusUnit.Lines, int chunkLength = 1024)
        => catalog.LoadTextCorpus(path, new TextCorpusOptions { Unit = unit, ChunkLength = chunkLength });

    /// <summary>Loads a UTF-8 text file as a streaming <see cref="IDataView"/> with one text column.</summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">The text file.</param>
    /// <param name="options">Column name, unit and chunk length.</param>
    public static IDataView LoadTextCorpus(this DataOperationsCatalog catalog, string path, TextCorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(options.ColumnName, nameof(options) + "." + nameof(options.ColumnName));
        if (options.Unit == TextCorpusUnit.Chunks && options.ChunkLength < 2)
            throw new ArgumentOutOfRangeException(nameof(options), options.ChunkLength, "TextCorpusOptions.ChunkLength must be at least 2 characters.");
        if (!File.Exists(path))
            throw new FileNotFoundException($"Text corpus '{path}' was not found.", path);
        return new TextCorpusDataView(path, options.ColumnName, options.Unit, options.ChunkLength, options.KeepEmptyLines);
    }

    private sealed class TextCorpusDataView : IDataView
    {
        private readonly string _path;
        private readonly TextCorpusUnit _unit;
        private readonly int _chunkLength;
        private readonly bool _keepEmpty;

        public TextCorpusDataView(string path, string column, TextCorpusUnit unit, int chunkLength, bool keepEmpty)
        {
            _path = path;
            _unit = unit;
            _chunkLength = chunkLength;
            _keepEmpty = keepEmpty;
            var builder = new DataViewSchema.Builder();
            builder.AddColumn(column, TextDataViewType.Instance);
            Schema = builder.ToSchema();
        }

        public bool CanShuffle => false;

        public DataViewSchema Schema { get; }

        public long? GetRowCount() => _unit == TextCorpusUnit.Document ? 1 : null;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
            => new Cursor(this, columnsNeeded.Any());

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
            => [GetRowCursor(columnsNeeded, rand)];

        private IEnumerable<string> Rows(StreamReader reader)
        {
            switch (_unit)
            {
                case TextCorpusUnit.Lines:
                    for (string? line; (line = reader.ReadLine()) != null;)
                        if (_keepEmpty || line.Length > 0)
                            yield return line;
                    break;
                case TextCorpusUnit.Paragraphs:
                    var paragraph = new StringBuilder();
                    for (string? line; (line = reader.ReadLine()) != null;)
                    {
                        if (line.Trim().Length == 0)
                        {
                            if (paragraph.Length > 0)
                                yield return paragraph.ToString();
                            paragraph.Clear();
                            continue;
                        }
                        if (paragraph.Length > 0)
                            paragraph.Append('\n');
                        paragraph.Append(line);
                    }
                    if (paragraph.Length > 0)
                        yield return paragraph.ToString();
                    break;
                case TextCorpusUnit.Chunks:
                    var buffer = new char[_chunkLength];
                    int carry = 0;
                    while (true)
                    {
                        int read = carry + reader.ReadBlock(buffer, carry, _chunkLength - carry);
                        if (read == 0)
                            break;
                        int emit = read;
                        carry = 0;
                        // Never end a chunk between the halves of a surrogate pair.
                        if (read == _chunkLength && char.IsHighSurrogate(buffer[read - 1]))
                        {
                            emit = read - 1;
                            carry = 1;
                        }
                        yield return new string(buffer, 0, emit);
                        if (carry == 1)
                            buffer[0] = buffer[read - 1];
                        if (read < _chunkLength)
                            break;
                    }
                    break;
                default:
                    yield return reader.ReadToEnd();
                    break;
            }
        }

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly TextCorpusDataView _parent;
            private readonly bool _active;
            private readonly StreamReader _reader;
            private readonly IEnumerator<string> _rows;
            private ReadOnlyMemory<char> _current;
            private long _position = -1;

            public Cursor(TextCorpusDataView parent, bool active)
            {
                _parent = parent;
                _active = active;
                _reader = new StreamReader(parent._path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
                _rows = parent.Rows(_reader).GetEnumerator();
            }

            public override DataViewSchema Schema => _parent.Schema;

            public override long Position => _position;

            public override long Batch => 0;

            public override ValueGetter<DataViewRowId> GetIdGetter()
                => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

            public override bool IsColumnActive(DataViewSchema.Column column) => _active && column.Index == 0;

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (!IsColumnActive(column))
                    throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created.");
                if (typeof(TValue) != typeof(ReadOnlyMemory<char>))
                    throw new InvalidOperationException($"Column '{column.Name}' is String (ReadOnlyMemory<char>); a getter of {typeof(TValue).Name} was requested.");
                ValueGetter<ReadOnlyMemory<char>> getter = (ref ReadOnlyMemory<char> value) => value = _current;
                return (ValueGetter<TValue>)(Delegate)getter;
            }

            public override bool MoveNext()
            {
                if (!_rows.MoveNext())
                    return false;
                _current = _rows.Current.AsMemory();
                _position++;
                return true;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _rows.Dispose();
                    _reader.Dispose();
                }
                base.Dispose(disposing);
            }
        }
    }
}
