using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>
/// The running batch of continuous batching: rows join (each with a cache prefilled alone) and leave between decode
/// steps, and every step feeds one token per row. Rows are right-aligned: a row holding n tokens occupies the last n
/// cache columns, the columns before them are zero with attention mask 0 (left padding), and its positions count from 0,
/// so a row computes what it would compute alone. Joining and leaving rebuild the cache in native memory, row block by
/// row block (as <see cref="DecoderSession.ReorderRows"/> does), trimming columns no row uses any more.
/// </summary>
/// <remarks>
/// Not thread-safe: the scheduler's loop owns it. Decode steps reuse the id/position tensors of each row count and write
/// logits into one reusable buffer; per step only the cache tensors ONNX Runtime returns and the attention mask's
/// wrapper are created. The cache stays in host memory on every provider, since rows are moved with host copies.
/// </remarks>
internal sealed class RowBatchDecoder : IDisposable
{
    /// <summary>Where a row of the rebuilt batch comes from: a row of the current batch, or row 0 of a cache prefilled alone.</summary>
    /// <param name="ExistingRow">Index in the current batch, or -1 for a joining row.</param>
    /// <param name="Joining">The joining row's cache (batch 1, all columns real), or null.</param>
    /// <param name="JoiningLength">Tokens in the joining cache.</param>
    internal readonly record struct RowSource(int ExistingRow, OrtValue[]? Joining, int JoiningLength)
    {
        public static RowSource Existing(int row) => new(row, null, 0);

        public static RowSource Join(OrtValue[] cache, int length) => new(-1, cache, length);
    }

    private readonly CausalLM _model;
    private readonly InferenceSession _session;
    private readonly DecoderSignature _sig;
    private readonly RunOptions _runOptions = new();
    private readonly int _maxRows;
    private readonly int _heads;
    private readonly int _headSize;
    private readonly int _elementBytes;
    private readonly int[] _realLength;
    private readonly int[] _rebuiltLength;
    private readonly IndexTensorBuffer _ids;
    private readonly IndexTensorBuffer? _positions;
    private readonly IndexTensorBuffer? _mask;
    private readonly OrtValue?[] _idsViews;
    private readonly OrtValue?[] _positionViews;
    private readonly OrtValue?[] _logitsViews;
    private readonly OrtValue? _branchTrue;
    private readonly string[] _inputNames;
    private readonly OrtValue[] _inputValues;
    private readonly long[] _cacheShape;
    private OrtIoBinding? _binding;
    private OrtValue[]? _past;
    private OrtValue[]? _sparePresents;
    private float[] _logits = [];
    private int _rows;
    private int _length;
    private int _vocab;
    private bool _disposed;

    /// <param name="model">The shared model; it must have a key/value cache.</param>
    /// <param name="maxRows">Most rows the batch holds.</param>
    public RowBatchDecoder(CausalLM model, int maxRows)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        _model = model;
        _session = model.Session;
        _sig = model.Signature;
        if (_sig.Layout == DecoderLayout.NoCache)
            throw new NotSupportedException($"'{model.ModelPath}' has no key/value cache inputs, so rows cannot join a running batch; continuous batching needs a model with past/present inputs.");
        _maxRows = maxRows;
        _heads = _sig.HeadCount > 0 ? _sig.HeadCount : model.Config.NumHeads;
        _headSize = _sig.HeadSize > 0 ? _sig.HeadSize : (model.Config.NumHeads > 0 ? model.Config.HiddenSize / model.Config.NumHeads : 0);
        if (_heads <= 0 || _headSize <= 0)
            throw new InvalidDataException($"'{model.ModelPath}': the cache inputs have symbolic head count/size and config.json gives no n_head/n_embd, so the batch cache cannot be shaped.");
        _elementBytes = _sig.CacheType == TensorElementType.Float16 ? 2 : 4;
        _realLength = new int[maxRows];
        _rebuiltLength = new int[maxRows];
        _ids = new IndexTensorBuffer(_sig.InputIdsType, maxRows);
        if (_sig.PositionIdsType is { } positionType) _positions = new IndexTensorBuffer(positionType, maxRows);
        if (_sig.AttentionMaskType is { } maskType) _mask = new IndexTensorBuffer(maskType, maxRows * 64);
        _idsViews = new OrtValue?[maxRows + 1];
        _positionViews = new OrtValue?[maxRows + 1];
        _logitsViews = new OrtValue?[maxRows + 1];
        if (_sig.Layout == DecoderLayout.OptimumMerged) _branchTrue = OrtValue.CreateTensorValueFromMemory(new[] { true }, [1]);

        var names = new List<string> { DecoderSignature.InputIdsName };
        if (_mask is not null) names.Add(DecoderSignature.AttentionMaskName);
        if (_positions is not null) names.Add(DecoderSignature.PositionIdsName);
        if (_branchTrue is not null) names.Add(DecoderSignature.UseCacheBranchName);
        names.AddRange(_sig.PastNames);
        _inputNames = [.. names];
        _inputValues = new OrtValue[_inputNames.Length];
        _cacheShape = _sig.Layout == DecoderLayout.OrtGpt2 ? [2, 0, _heads, 0, _headSize] : [0, _heads, 0, _headSize];
    }

    /// <summary>Rows in the batch now.</summary>
    public int RowCount => _rows;

    /// <summary>Cache columns: the longest row's token count.</summary>
    public int Length => _length;

    /// <summary>Most rows the batch holds.</summary>
    public int MaxRows => _maxRows;

    /// <summary>Tokens row <paramref name="row"/> holds (prompt plus the tokens fed so far).</summary>
    public int RowLength(int row) => _realLength[row];

    /// <summary>Vocabulary size; set once (from the first prefill) before the first step.</summary>
    public int VocabSize
    {
        get => _vocab;
        set
        {
            if (_vocab != 0 && _vocab != value) throw new InvalidOperationException($"The vocabulary size is {_vocab} and cannot change to {value}.");
            _vocab = value;
        }
    }

    /// <summary>Aborts a running step (from another thread) when the scheduler shuts down.</summary>
    public void Abort() => _runOptions.Terminate = true;

    /// <summary>
    /// Makes row i of the batch come from <paramref name="rows"/>[i]. The new cache is as long as the longest row; each
    /// row's tokens are copied right-aligned and the columns before them zeroed. Joining caches are not disposed here.
    /// </summary>
    public void Rebuild(ReadOnlySpan<RowSource> rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (rows.Length > _maxRows) throw new ArgumentException($"The batch holds at most {_maxRows} rows, {rows.Length} were given.", nameof(rows));
        int newLength = 0;
        bool identity = rows.Length == _rows;
        for (int r = 0; r < rows.Length; r++)
        {
            var source = rows[r];
            int length;
            if (source.Joining is null)
            {
                if ((uint)source.ExistingRow >= (uint)_rows) throw new ArgumentOutOfRangeException(nameof(rows), source.ExistingRow, "Row index out of range.");
                length = _realLength[source.ExistingRow];
                identity &= source.ExistingRow == r;
            }
            else
            {
                if (source.Joining.Length != _sig.PastNames.Length) throw new ArgumentException($"A joining cache must hold {_sig.PastNames.Length} tensors.", nameof(rows));
                length = source.JoiningLength;
                identity = false;
            }
            if (length <= 0) throw new ArgumentException("Every row must hold at least one token.", nameof(rows));
            _rebuiltLength[r] = length;
            newLength = Math.Max(newLength, length);
        }
        if (identity && newLength == _length) return;

        if (rows.Length == 0)
        {
            DisposePast();
            _rows = 0;
            _length = 0;
            return;
        }

        int axis = _sig.CacheBatchAxis;
        int outer = axis == 1 ? 2 : 1;
        int columnBytes = _headSize * _elementBytes;
        var fresh = new OrtValue[_sig.PastNames.Length];
        try
        {
            for (int i = 0; i < fresh.Length; i++)
            {
                fresh[i] = OrtValue.CreateAllocatedTensorValue(_model.HostAllocator, _sig.CacheType, CacheShape(rows.Length, newLength));
                var dst = fresh[i].GetTensorMutableRawData();
                for (int o = 0; o < outer; o++)
                    for (int r = 0; r < rows.Length; r++)
                    {
                        var source = rows[r];
                        int real = _rebuiltLength[r];
                        OrtValue src;
                        int srcRows, srcRow, srcLength;
                        if (source.Joining is null) (src, srcRows, srcRow, srcLength) = (_past![i], _rows, source.ExistingRow, _length);
                        else (src, srcRows, srcRow, srcLength) = (source.Joining[i], 1, 0, source.JoiningLength);
                        var from = src.GetTensorMutableRawData();
                        for (int h = 0; h < _heads; h++)
                        {
                            long dstBlock = (((long)o * rows.Length + r) * _heads + h) * newLength * columnBytes;
                            long srcBlock = (((long)o * srcRows + srcRow) * _heads + h) * srcLength * columnBytes;
                            int pad = (newLength - real) * columnBytes;
                            // Padding columns are masked, but their values still meet a zero attention weight: keep them finite.
                            if (pad > 0) dst.Slice(checked((int)dstBlock), pad).Clear();
                            from.Slice(checked((int)(srcBlock + (long)(srcLength - real) * columnBytes)), real * columnBytes)
                                .CopyTo(dst.Slice(checked((int)dstBlock + pad), real * columnBytes));
                        }
                    }
            }
        }
        catch
        {
            foreach (var value in fresh) value?.Dispose();
            throw;
        }
        DisposePast();
        _past = fresh;
        _sparePresents = null;
        Array.Copy(_rebuiltLength, _realLength, rows.Length);
        _rows = rows.Length;
        _length = newLength;
    }

    /// <summary>Feeds one token per row (the row's next position) and runs one decode step.</summary>
    public void Step(ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_rows == 0) throw new InvalidOperationException("The batch is empty.");
        if (tokens.Length != _rows) throw new ArgumentException($"Expected {_rows} tokens, got {tokens.Length}.", nameof(tokens));
        if (_vocab <= 0) throw new InvalidOperationException("Set VocabSize before the first step.");
        int rows = _rows;
        int length = _length + 1;
        for (int r = 0; r < rows; r++)
        {
            _ids.Set(r, tokens[r]);
            _positions?.Set(r, _realLength[r]);
        }
        if (_mask is not null)
        {
            _mask.EnsureCapacity(rows * length);
            for (int r = 0; r < rows; r++)
            {
                int firstReal = length - (_realLength[r] + 1);
                for (int j = 0; j < length; j++) _mask.Set(r * length + j, j >= firstReal ? 1 : 0);
            }
        }

        OrtValue? maskValue = null;
        OrtValue[]? presents = null;
        try
        {
            int k = 0;
            _inputValues[k++] = _idsViews[rows] ??= _ids.CreateView([rows, 1]);
            if (_mask is not null) _inputValues[k++] = maskValue = _mask.CreateView([rows, length]);
            if (_positions is not null) _inputValues[k++] = _positionViews[rows] ??= _positions.CreateView([rows, 1]);
            if (_branchTrue is not null) _inputValues[k++] = _branchTrue;
            for (int i = 0; i < _past!.Length; i++) _inputValues[k++] = _past[i];

            var binding = _binding ??= _session.CreateIoBinding();
            binding.ClearBoundInputs();
            binding.ClearBoundOutputs();
            for (int i = 0; i < _inputNames.Length; i++) binding.BindInput(_inputNames[i], _inputValues[i]);
            bool half = _sig.LogitsType == TensorElementType.Float16;
            if (half) binding.BindOutputToDevice(DecoderSignature.LogitsName, OrtMemoryInfo.DefaultInstance);
            else binding.BindOutput(DecoderSignature.LogitsName, LogitsView(rows));
            for (int i = 0; i < _sig.PresentNames.Length; i++) binding.BindOutputToDevice(_sig.PresentNames[i], OrtMemoryInfo.DefaultInstance);
            _session.RunWithBinding(_runOptions, binding);
            var outputs = binding.GetOutputValues();
            presents = _sparePresents ??= new OrtValue[_sig.PresentNames.Length];
            _sparePresents = null;
            if (half) ConvertHalfLogits(outputs[0], rows);
            outputs[0].Dispose(); // float logits: a second handle on the reusable buffer
            for (int i = 0; i < presents.Length; i++) presents[i] = outputs[i + 1];

            var old = _past;
            _past = presents;
            presents = null;
            for (int i = 0; i < old.Length; i++)
            {
                old[i].Dispose();
                old[i] = null!;
            }
            _sparePresents = old;
        }
        catch (OnnxRuntimeException) when (_runOptions.Terminate)
        {
            throw new OperationCanceledException("The batch was aborted.");
        }
        finally
        {
            maskValue?.Dispose();
            if (presents is not null) foreach (var value in presents) value?.Dispose();
            Array.Clear(_inputValues);
        }
        for (int r = 0; r < rows; r++) _realLength[r]++;
        _length = length;
    }

    /// <summary>Row <paramref name="row"/>'s logits after the latest step.</summary>
    public ReadOnlySpan<float> Logits(int row)
    {
        if ((uint)row >= (uint)_rows) throw new ArgumentOutOfRangeException(nameof(row));
        return _logits.AsSpan(row * _vocab, _vocab);
    }

    private OrtValue LogitsView(int rows)
    {
        if (_logits.Length == 0) _logits = new float[_maxRows * _vocab];
        return _logitsViews[rows] ??= OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            new Memory<float>(_logits, 0, rows * _vocab), [rows, 1, _vocab]);
    }

    private void ConvertHalfLogits(OrtValue logits, int rows)
    {
        if (_logits.Length == 0) _logits = new float[_maxRows * _vocab];
        var halves = MemoryMarshal.Cast<byte, Half>(logits.GetTensorMutableRawData());
        int sequence = halves.Length / (rows * _vocab);
        for (int r = 0; r < rows; r++)
        {
            var src = halves.Slice((r * sequence + sequence - 1) * _vocab, _vocab);
            var dst = _logits.AsSpan(r * _vocab, _vocab);
            for (int j = 0; j < _vocab; j++) dst[j] = (float)src[j];
        }
    }

    private long[] CacheShape(int rows, int length)
    {
        if (_sig.Layout == DecoderLayout.OrtGpt2)
        {
            _cacheShape[1] = rows;
            _cacheShape[3] = length;
        }
        else
        {
            _cacheShape[0] = rows;
            _cacheShape[2] = length;
        }
        return _cacheShape;
    }

    private void DisposePast()
    {
        if (_past is not null) foreach (var value in _past) value?.Dispose();
        _past = null;
        _sparePresents = null;
    }

    /// <summary>Releases the cache and the reusable tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposePast();
        foreach (var view in _idsViews) view?.Dispose();
        foreach (var view in _positionViews) view?.Dispose();
        foreach (var view in _logitsViews) view?.Dispose();
        _branchTrue?.Dispose();
        _binding?.Dispose();
        _runOptions.Dispose();
    }
}
