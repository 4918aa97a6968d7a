using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// The lazy output of <see cref="GenerateTextTransformer.Transform"/>: a cursor reads the prompts of the
/// next <c>batchSize</c> rows through a second input cursor, generates them as one batch, and serves them row by row
/// while passing the input's own columns through from its main cursor. Rows, order and values equal the row-by-row path.
/// </summary>
internal sealed class BatchedGenerationView : IDataView
{
    private readonly IDataView _input;
    private readonly Serving.ServedChain _owner;
    private readonly string _promptColumn;
    private readonly int _batchSize;
    private readonly string?[] _generated;   // per output column: the mapping property it shows, or null
    private readonly int[] _source;          // per output column: the input column it passes through, or -1

    public BatchedGenerationView(IDataView input, DataViewSchema schema, Serving.ServedChain owner, string promptColumn,
        int batchSize, IReadOnlyList<(string Property, string Column)> outputs)
    {
        _input = input;
        _owner = owner;
        _promptColumn = promptColumn;
        _batchSize = batchSize;
        Schema = schema;
        _generated = new string?[schema.Count];
        _source = new int[schema.Count];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < schema.Count; i++)
        {
            string name = schema[i].Name;
            bool lastOfName = Enumerable.Range(i + 1, schema.Count - i - 1).All(j => schema[j].Name != name);
            var output = outputs.FirstOrDefault(o => o.Column == name);
            if (lastOfName && output.Column != null)
            {
                _generated[i] = output.Property;
                _source[i] = -1;
                continue;
            }
            int occurrence = seen.TryGetValue(name, out int n) ? n : 0;
            seen[name] = occurrence + 1;
            var matches = input.Schema.Where(c => c.Name == name).ToArray();
            if (occurrence >= matches.Length)
                throw new InvalidOperationException($"GenerateText: output column '{name}' has no input column to pass through.");
            _source[i] = matches[occurrence].Index;
        }
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(this, columnsNeeded.Select(c => c.Index).ToHashSet());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchedGenerationView _view;
        private readonly HashSet<int> _active;
        private readonly DataViewRowCursor _main;
        private readonly DataViewRowCursor? _prompts;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _promptGetter;
        private readonly List<string?> _batchPrompts = [];
        private GeneratedRow[] _batch = [];
        private long _batchStart;
        private long _position = -1;

        public Cursor(BatchedGenerationView view, HashSet<int> active)
        {
            _view = view;
            _active = active;
            var inputColumns = active.Where(i => view._source[i] >= 0).Select(i => view._input.Schema[view._source[i]]);
            _main = view._input.GetRowCursor(inputColumns);
            if (active.Any(i => view._generated[i] != null))
            {
                var prompt = view._input.Schema[view._promptColumn];
                _prompts = view._input.GetRowCursor([prompt]);
                _promptGetter = _prompts.GetGetter<ReadOnlyMemory<char>>(prompt);
            }
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override bool MoveNext()
        {
            if (!_main.MoveNext())
                return false;
            _position++;
            if (_prompts != null && _position >= _batchStart + _batch.Length)
                NextBatch();
            return true;
        }

        private void NextBatch()
        {
            _batchStart = _position;
            _batchPrompts.Clear();
            ReadOnlyMemory<char> prompt = default;
            while (_batchPrompts.Count < _view._batchSize && _prompts!.MoveNext())
            {
                _promptGetter!(ref prompt);
                _batchPrompts.Add(prompt.ToString());
            }
            if (_batchPrompts.Count == 0)
                throw new InvalidOperationException("GenerateText: the input returned fewer rows on its second cursor than on its first; the input must iterate deterministically.");
            // The transformer's model stays loaded while the batch runs, even if the transformer is disposed meanwhile.
            var lease = (Serving.ServingLease<GenerateTextRuntime>)_view._owner.Enter();
            try
            {
                _batch = lease.Value.Generate(_batchPrompts, _batchStart);
            }
            finally
            {
                _view._owner.Exit();
            }
        }

        private ref readonly GeneratedRow Current => ref _batch[_position - _batchStart];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created.");
            int source = _view._source[column.Index];
            if (source >= 0)
                return _main.GetGetter<TValue>(_view._input.Schema[source]);
            Delegate getter = _view._generated[column.Index] switch
            {
                GenerateTextMapping.CompletionProperty => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = Current.Completion.AsMemory()),
                GenerateTextMapping.FinishReasonProperty => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = Current.FinishReason.AsMemory()),
                GenerateTextMapping.ScoreProperty => (ValueGetter<float>)((ref float v) => v = Current.Score),
                GenerateTextMapping.TokenIdsProperty => (ValueGetter<VBuffer<int>>)((ref VBuffer<int> v) =>
                {
                    int[] ids = Current.TokenIds;
                    var editor = VBufferEditor.Create(ref v, ids.Length);
                    ids.CopyTo(editor.Values);
                    v = editor.Commit();
                }),
                GenerateTextMapping.CompletionsProperty => (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> v) =>
                {
                    string[] texts = Current.Completions;
                    var editor = VBufferEditor.Create(ref v, texts.Length);
                    for (int i = 0; i < texts.Length; i++)
                        editor.Values[i] = texts[i].AsMemory();
                    v = editor.Commit();
                }),
                var p => throw new InvalidOperationException($"Unknown generated column property '{p}'."),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; a getter of {typeof(TValue).Name} was requested.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _main.Dispose();
                _prompts?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
