using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Serving;

/// <summary>
/// The fitted side shared by this library's transformers: the live chain of saveable ML.NET transforms, the lease that
/// keeps the model loaded, and what saving needs. With <c>EmbedModel</c>, saving rebuilds the chain around a carrier of
/// the model files (EmbeddedModel.cs) and fits it on the input schema only for the time of the save, so a live pipeline
/// never holds a second copy of its model.
/// </summary>
/// <remarks>
/// <see cref="Dispose"/> releases the lease (at once, or when the last batch in progress ends); a later use takes a new
/// one. The transformer is thus a handle that can be used again after disposal rather than a dead object, because ML.NET's
/// <c>PredictionEngine</c> disposes the transformer it was created from when it is disposed itself (unless
/// <c>PredictionEngineOptions.OwnsTransformer</c> is false), and creating several engines from one model is common.
/// </remarks>
internal sealed class ServedChain : IDisposable
{
    private readonly ITransformer _live;
    private readonly DataViewSchema _inputSchema;
    private readonly ModelSource? _source;
    private readonly Func<EmbeddedModelCarrier, IEstimator<ITransformer>>? _embeddedChain;
    private readonly Func<IDisposable> _acquire;
    private readonly object _gate = new();
    private IDisposable? _lease;
    private int _busy;
    private bool _releaseWhenIdle;

    /// <param name="live">The fitted chain (no carrier).</param>
    /// <param name="inputSchema">The schema it was fitted on.</param>
    /// <param name="source">The model files; with <see cref="ModelSource.Embedded"/>, saves carry them.</param>
    /// <param name="embeddedChain">Builds the same chain around a carrier (required when the source is embedded).</param>
    /// <param name="lease">The lease taken when fitting.</param>
    /// <param name="acquire">Takes a new lease after <see cref="Dispose"/>.</param>
    public ServedChain(ITransformer live, DataViewSchema inputSchema, ModelSource? source,
        Func<EmbeddedModelCarrier, IEstimator<ITransformer>>? embeddedChain, IDisposable lease, Func<IDisposable> acquire)
    {
        if (source is { Embedded: true } && embeddedChain is null)
            throw new ArgumentNullException(nameof(embeddedChain), "An embedded model needs a way to build the chain around its carrier.");
        _live = live;
        _inputSchema = inputSchema;
        _source = source;
        _embeddedChain = embeddedChain;
        _lease = lease;
        _acquire = acquire;
    }

    /// <summary>The live chain.</summary>
    public ITransformer Live => _live;

    /// <summary>True while the transformer holds its model (false after <see cref="Dispose"/> until the next use).</summary>
    public bool IsLoaded
    {
        get
        {
            lock (_gate)
                return _lease is not null && !_releaseWhenIdle;
        }
    }

    /// <summary>Takes the lease again if it was released; the row path then shares the transformer's model.</summary>
    public void EnsureLoaded()
    {
        lock (_gate)
        {
            _lease ??= _acquire();
            _releaseWhenIdle = false;
        }
    }

    /// <summary>Marks a use of the model (a batch): returns the lease, loading it again if needed; call <see cref="Exit"/> after.</summary>
    public IDisposable Enter()
    {
        lock (_gate)
        {
            _lease ??= _acquire();
            _releaseWhenIdle = false;
            _busy++;
            return _lease;
        }
    }

    /// <summary>Ends a use begun by <see cref="Enter"/>.</summary>
    public void Exit()
    {
        IDisposable? release = null;
        lock (_gate)
        {
            _busy--;
            if (_busy == 0 && _releaseWhenIdle)
            {
                release = _lease;
                _lease = null;
                _releaseWhenIdle = false;
            }
        }
        release?.Dispose();
    }

    /// <summary>Saves the live chain, or with an embedded source the chain around a carrier of the current model files.</summary>
    public void Save(ModelSaveContext ctx)
    {
        if (_source is not { Embedded: true })
        {
            _live.Save(ctx);
            return;
        }
        string folder = _source.Resolve();
        using var carrier = EmbeddedModelCarrier.Write(_source, folder);
        var chain = _embeddedChain!(carrier).Fit(new EmptyDataView(_inputSchema));
        try
        {
            chain.Save(ctx);
        }
        finally
        {
            (chain as IDisposable)?.Dispose();
        }
    }

    /// <summary>Releases the model (when the last batch in progress ends); the last holder of a model frees its session.</summary>
    public void Dispose()
    {
        IDisposable? release = null;
        lock (_gate)
        {
            if (_busy > 0)
                _releaseWhenIdle = true;
            else
            {
                release = _lease;
                _lease = null;
            }
        }
        release?.Dispose();
    }
}

/// <summary>A data view with a schema and no rows: what fitting a chain that learns nothing needs.</summary>
internal sealed class EmptyDataView(DataViewSchema schema) : IDataView
{
    public bool CanShuffle => true;

    public DataViewSchema Schema { get; } = schema;

    public long? GetRowCount() => 0;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(Schema, columnsNeeded.Select(c => c.Index).ToHashSet());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(DataViewSchema schema, HashSet<int> active) : DataViewRowCursor
    {
        public override DataViewSchema Schema => schema;

        public override long Position => -1;

        public override long Batch => 0;

        public override bool MoveNext() => false;

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            (ref TValue value) => throw new InvalidOperationException("An empty data view has no rows to read.");

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId value) => throw new InvalidOperationException("An empty data view has no rows to read.");
    }
}
