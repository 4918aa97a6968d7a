using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>
/// One decoding call's state over a shared <see cref="CausalLM"/>: the key/value cache as ONNX Runtime values,
/// the per-row token, mask and position history, and the reusable input/output buffers. Not thread-safe; one per call.
/// </summary>
/// <remarks>
/// Each step feeds the previous step's <c>present</c> outputs as <c>past</c> inputs; the cache never passes through
/// managed arrays. Decode steps write logits into one reusable buffer and reuse the id/position buffers; only the
/// new (one position longer) cache tensors and the small OrtValue wrappers of the growing attention mask are created per step.
/// </remarks>
internal sealed class DecoderSession : IDisposable
{
    private readonly CausalLM _model;
    private readonly InferenceSession _session;
    private readonly DecoderSignature _sig;
    private readonly RunOptions _runOptions = new();
    private readonly CancellationToken _cancellation;
    private readonly CancellationTokenRegistration _registration;
    private readonly int _batch;
    private readonly int _heads;
    private readonly int _headSize;

    private int _capacity;
    private long[] _tokens = [];
    private long[] _maskHistory = [];
    private long[] _positionHistory = [];
    private long[] _scratch = [];
    private readonly long[] _nextPosition;
    private int _length;

    private OrtValue[]? _past;
    private OrtValue[]? _sparePresents;
    private OrtIoBinding? _binding;
    private OrtValue? _stepIdsValue;
    private OrtValue? _stepPositionsValue;
    private readonly OrtMemoryInfo _cacheMemory;
    private long[]? _cacheShape;
    private readonly IndexTensorBuffer _ids;
    private readonly IndexTensorBuffer? _mask;
    private readonly IndexTensorBuffer? _positions;
    private readonly OrtValue? _branchFalse;
    private readonly OrtValue? _branchTrue;
    private readonly string[] _inputNames;
    private readonly OrtValue[] _inputValues;
    private readonly string[] _outputNames;
    private readonly long[] _stepIdsShape;

    private float[] _stepLogits = [];
    private OrtValue? _stepLogitsValue;
    private OrtValue? _ownedLogits;
    private int _logitsSequence;
    private float[] _converted = [];
    private bool _useConverted;
    private bool _disposed;

    /// <param name="model">The shared model.</param>
    /// <param name="batchSize">Rows decoded together.</param>
    /// <param name="capacity">Expected longest sequence (grows if exceeded).</param>
    /// <param name="cancellation">Cancels between and during steps (through RunOptions.Terminate).</param>
    /// <param name="hostCache">Keep the cache in host memory even on a GPU provider (beam search reorders it with host copies).</param>
    public DecoderSession(CausalLM model, int batchSize, int capacity, CancellationToken cancellation, bool hostCache = false)
    {
        _cacheMemory = hostCache || model.DeviceCacheMemory is null ? OrtMemoryInfo.DefaultInstance : model.DeviceCacheMemory;
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be positive.");
        _model = model;
        _session = model.Session;
        _sig = model.Signature;
        _batch = batchSize;
        _cancellation = cancellation;
        _nextPosition = new long[batchSize];
        EnsureCapacity(Math.Max(1, capacity));

        _heads = _sig.HeadCount > 0 ? _sig.HeadCount : model.Config.NumHeads;
        _headSize = _sig.HeadSize > 0 ? _sig.HeadSize : (model.Config.NumHeads > 0 ? model.Config.HiddenSize / model.Config.NumHeads : 0);
        if (_sig.Layout != DecoderLayout.NoCache && (_heads <= 0 || _headSize <= 0))
            throw new InvalidDataException($"'{model.ModelPath}': the cache inputs have symbolic head count/size and config.json gives no n_head/n_embd, so the empty first-step cache cannot be shaped.");

        _ids = new IndexTensorBuffer(_sig.InputIdsType, batchSize * Math.Max(1, capacity));
        int vocabGuess = _sig.VocabSize > 0 ? _sig.VocabSize : (model.Config.VocabSize > 0 ? model.Config.VocabSize : 50257);
        PrefillChunk = Math.Max(16, (int)Math.Min(int.MaxValue, 16_777_216L / ((long)batchSize * vocabGuess)));
        if (_sig.AttentionMaskType is { } maskType) _mask = new IndexTensorBuffer(maskType, batchSize * _capacity);
        if (_sig.PositionIdsType is { } positionType) _positions = new IndexTensorBuffer(positionType, batchSize * _capacity);
        if (_sig.Layout == DecoderLayout.OptimumMerged)
        {
            _branchFalse = OrtValue.CreateTensorValueFromMemory(new[] { false }, [1]);
            _branchTrue = OrtValue.CreateTensorValueFromMemory(new[] { true }, [1]);
        }

        var names = new List<string> { DecoderSignature.InputIdsName };
        if (_mask is not null) names.Add(DecoderSignature.AttentionMaskName);
        if (_positions is not null) names.Add(DecoderSignature.PositionIdsName);
        if (_branchFalse is not null) names.Add(DecoderSignature.UseCacheBranchName);
        names.AddRange(_sig.PastNames);
        _inputNames = [.. names];
        _inputValues = new OrtValue[_inputNames.Length];
        _outputNames = [DecoderSignature.LogitsName, .. _sig.PresentNames];
        _stepIdsShape = [batchSize, 1];

        if (cancellation.CanBeCanceled)
            _registration = cancellation.Register(static state => ((RunOptions)state!).Terminate = true, _runOptions);
    }

    /// <summary>Rows in the batch.</summary>
    public int BatchSize => _batch;

    /// <summary>Sequence length fed so far, including left padding.</summary>
    public int Length => _length;

    /// <summary>Vocabulary size (known after <see cref="Prefill"/>).</summary>
    public int VocabSize { get; private set; }

    /// <summary>Feeds left-padded prompts: pads get mask 0 and position 1 (as Hugging Face), real tokens count positions from 0.</summary>
    public void Prefill(IReadOnlyList<IReadOnlyList<int>> prompts, int padTokenId)
    {
        if (prompts.Count != _batch) throw new ArgumentException($"Expected {_batch} prompts, got {prompts.Count}.", nameof(prompts));
        if (_length != 0) throw new InvalidOperationException("Prefill must be the first step.");
        int longest = 0;
        foreach (var p in prompts) longest = Math.Max(longest, p.Count);
        if (longest == 0) throw new ArgumentException("At least one prompt must hold a token.", nameof(prompts));
        if (!_sig.HasAttentionMask && prompts.Any(p => p.Count != longest))
            throw new ArgumentException($"'{_model.ModelPath}' has no attention_mask input, so prompts of different lengths cannot be batched (left padding would be attended); generate them one at a time.", nameof(prompts));
        EnsureCapacity(longest + 1);
        for (int r = 0; r < _batch; r++)
        {
            var prompt = prompts[r];
            int pad = longest - prompt.Count;
            int offset = r * _capacity;
            for (int j = 0; j < longest; j++)
            {
                bool real = j >= pad;
                _tokens[offset + j] = real ? prompt[j - pad] : padTokenId;
                _maskHistory[offset + j] = real ? 1 : 0;
                _positionHistory[offset + j] = real ? j - pad : 1;
            }
            _nextPosition[r] = prompt.Count;
        }
        // Long prompts go through the cache in chunks, so the prefill never materialises [batch, prompt, vocab] logits at once.
        int chunk = _sig.Layout == DecoderLayout.NoCache ? longest : Math.Max(1, PrefillChunk);
        for (int done = 0; done < longest;)
        {
            int size = Math.Min(chunk, longest - done);
            _length = done + size;
            Run(size);
            done += size;
        }
    }

    /// <summary>
    /// Drops the cache and feeds <paramref name="prompts"/> afresh from position 0, as <see cref="Prefill"/> does: how a
    /// sliding context window re-reads its cropped tokens. Buffers are kept.
    /// </summary>
    public void Restart(IReadOnlyList<IReadOnlyList<int>> prompts, int padTokenId)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_past is not null)
            foreach (var value in _past) value.Dispose();
        _past = null;
        DisposeOwnedLogits();
        _length = 0;
        Prefill(prompts, padTokenId);
    }

    /// <summary>
    /// Most prompt positions fed per prefill run: about 64 MB of logits per chunk (at least 16 positions); settable for tests.
    /// </summary>
    internal int PrefillChunk { get; set; }

    /// <summary>Feeds one unpadded sequence and copies out the logits of every position, [count, vocab].</summary>
    public float[] PrefillAllLogits(IReadOnlyList<int> tokens)
    {
        PrefillChunk = tokens.Count; // every position's logits are wanted: one run
        Prefill([tokens], 0);
        int v = VocabSize, s = _logitsSequence;
        if (s != tokens.Count)
            throw new NotSupportedException($"'{_model.ModelPath}' returns logits for the last position only, so per-position logits cannot be computed.");
        var all = new float[s * v];
        if (_sig.LogitsType == TensorElementType.Float16)
        {
            var halves = MemoryMarshal.Cast<byte, Half>(_ownedLogits!.GetTensorMutableRawData());
            for (int i = 0; i < all.Length; i++) all[i] = (float)halves[i];
        }
        else _ownedLogits!.GetTensorDataAsSpan<float>()[..all.Length].CopyTo(all);
        return all;
    }

    /// <summary>Appends one token per row (mask 1, next position) and runs one step.</summary>
    public void Append(ReadOnlySpan<int> nextTokens)
    {
        if (nextTokens.Length != _batch) throw new ArgumentException($"Expected {_batch} tokens, got {nextTokens.Length}.", nameof(nextTokens));
        if (_length == 0) throw new InvalidOperationException("Call Prefill before Append.");
        EnsureCapacity(_length + 1);
        for (int r = 0; r < _batch; r++)
        {
            int at = r * _capacity + _length;
            _tokens[at] = nextTokens[r];
            _maskHistory[at] = 1;
            _positionHistory[at] = _nextPosition[r]++;
        }
        _length++;
        Run(1);
    }

    /// <summary>The last position's logits for <paramref name="row"/> after the latest step.</summary>
    public ReadOnlySpan<float> Logits(int row)
    {
        if ((uint)row >= (uint)_batch) throw new ArgumentOutOfRangeException(nameof(row));
        int v = VocabSize;
        if (_useConverted) return _converted.AsSpan(row * v, v);
        if (_ownedLogits is null) return _stepLogits.AsSpan(row * v, v);
        long start = ((long)row * _logitsSequence + _logitsSequence - 1) * v;
        return _ownedLogits.GetTensorDataAsSpan<float>().Slice(checked((int)start), v);
    }

    /// <summary>
    /// Reorders the batch rows (beam search): row r takes source row <paramref name="sourceRows"/>[r]. The cache is copied
    /// row block by row block inside native memory (one cache-sized copy per call; identity orders are skipped).
    /// </summary>
    public void ReorderRows(ReadOnlySpan<int> sourceRows)
    {
        if (sourceRows.Length != _batch) throw new ArgumentException($"Expected {_batch} row indices, got {sourceRows.Length}.", nameof(sourceRows));
        bool identity = true;
        for (int r = 0; r < _batch; r++)
        {
            if ((uint)sourceRows[r] >= (uint)_batch) throw new ArgumentOutOfRangeException(nameof(sourceRows), sourceRows[r], "Row index out of range.");
            identity &= sourceRows[r] == r;
        }
        if (identity) return;

        ReorderHistory(_tokens, sourceRows);
        ReorderHistory(_maskHistory, sourceRows);
        ReorderHistory(_positionHistory, sourceRows);
        Span<long> next = _batch <= 256 ? stackalloc long[_batch] : new long[_batch];
        for (int r = 0; r < _batch; r++) next[r] = _nextPosition[sourceRows[r]];
        next.CopyTo(_nextPosition);

        if (_past is null) return;
        if (!ReferenceEquals(_cacheMemory, OrtMemoryInfo.DefaultInstance))
            throw new InvalidOperationException("Rows of a device-resident cache cannot be reordered; create the session with hostCache: true.");
        for (int i = 0; i < _past.Length; i++)
        {
            var old = _past[i];
            var info = old.GetTensorTypeAndShape();
            long[] shape = info.Shape;
            var fresh = OrtValue.CreateAllocatedTensorValue(_model.HostAllocator, info.ElementDataType, shape);
            int axis = _sig.CacheBatchAxis;
            long outer = 1, inner = 1;
            for (int d = 0; d < axis; d++) outer *= shape[d];
            for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
            int elementBytes = info.ElementDataType == TensorElementType.Float16 ? 2 : 4;
            int blockBytes = checked((int)(inner * elementBytes));
            var src = old.GetTensorMutableRawData();
            var dst = fresh.GetTensorMutableRawData();
            for (long o = 0; o < outer; o++)
                for (int r = 0; r < _batch; r++)
                    src.Slice(checked((int)((o * _batch + sourceRows[r]) * blockBytes)), blockBytes)
                       .CopyTo(dst.Slice(checked((int)((o * _batch + r) * blockBytes)), blockBytes));
            _past[i] = fresh;
            old.Dispose();
        }
    }

    /// <summary>
    /// Hands the cache tensors over to the caller, who disposes them (the continuous-batching scheduler merges a row
    /// prefilled here into its running batch); the logits stay readable, but the session must not step again.
    /// </summary>
    internal OrtValue[] DetachCache()
    {
        var past = _past ?? throw new InvalidOperationException("There is no cache to detach: call Prefill first (and the model must have a cache).");
        _past = null;
        return past;
    }

    private void ReorderHistory(long[] history, ReadOnlySpan<int> sourceRows)
    {
        int n = _batch * _capacity;
        if (_scratch.Length < n) _scratch = new long[n];
        Array.Copy(history, _scratch, n);
        for (int r = 0; r < _batch; r++)
            Array.Copy(_scratch, sourceRows[r] * _capacity, history, r * _capacity, _length);
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _capacity) return;
        int capacity = Math.Max(needed, _capacity * 2);
        _tokens = Regrow(_tokens, capacity);
        _maskHistory = Regrow(_maskHistory, capacity);
        _positionHistory = Regrow(_positionHistory, capacity);
        _capacity = capacity;
        // The cached one-token views pin the old buffers; drop them before the buffers may be replaced.
        DisposeStepViews();
        _mask?.EnsureCapacity(_batch * capacity);
        _positions?.EnsureCapacity(_batch * capacity);
        _ids?.EnsureCapacity(_batch * capacity);
    }

    private long[] Regrow(long[] old, int capacity)
    {
        var fresh = new long[_batch * capacity];
        if (_capacity > 0)
            for (int r = 0; r < _batch; r++) Array.Copy(old, r * _capacity, fresh, r * capacity, _length);
        return fresh;
    }

    private void Run(int newPositions)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _cancellation.ThrowIfCancellationRequested();
        bool noCache = _sig.Layout == DecoderLayout.NoCache;
        int fed = noCache ? _length : newPositions;
        int start = _length - fed;
        bool firstStep = _past is null;

        for (int r = 0; r < _batch; r++)
            for (int j = 0; j < fed; j++)
            {
                int at = r * _capacity + start + j;
                _ids.Set(r * fed + j, _tokens[at]);
                _positions?.Set(r * fed + j, _positionHistory[at]);
            }
        if (_mask is not null)
            for (int r = 0; r < _batch; r++)
                for (int j = 0; j < _length; j++) _mask.Set(r * _length + j, _maskHistory[r * _capacity + j]);

        OrtValue? idsValue = null, maskValue = null, positionValue = null;
        OrtValue[]? presents = null;
        try
        {
            long[] feedShape = fed == 1 ? _stepIdsShape : [_batch, fed];
            int k = 0;
            // One-token steps reuse the [batch, 1] id/position tensors; other shapes get a wrapper for this run only.
            if (fed == 1) _inputValues[k++] = _stepIdsValue ??= _ids.CreateView(_stepIdsShape);
            else _inputValues[k++] = idsValue = _ids.CreateView(feedShape);
            if (_mask is not null) _inputValues[k++] = maskValue = _mask.CreateView([_batch, _length]);
            if (_positions is not null)
            {
                if (fed == 1) _inputValues[k++] = _stepPositionsValue ??= _positions.CreateView(_stepIdsShape);
                else _inputValues[k++] = positionValue = _positions.CreateView(feedShape);
            }
            if (_branchFalse is not null) _inputValues[k++] = firstStep ? _branchFalse : _branchTrue!;
            if (!noCache)
            {
                _past ??= CreateEmptyCache();
                for (int i = 0; i < _past.Length; i++) _inputValues[k++] = _past[i];
            }

            DisposeOwnedLogits();
            if (fed == 1 && !noCache && VocabSize > 0)
            {
                // Decode step: logits land in the reusable buffer; ONNX Runtime allocates the one-longer cache tensors from its
                // arena (pre-allocating them from the default allocator measured clearly slower here: fresh pages every step).
                var binding = _binding ??= _session.CreateIoBinding();
                binding.ClearBoundInputs();
                binding.ClearBoundOutputs();
                for (int i = 0; i < _inputNames.Length; i++) binding.BindInput(_inputNames[i], _inputValues[i]);
                binding.BindOutput(DecoderSignature.LogitsName, StepLogitsValue());
                for (int i = 0; i < _sig.PresentNames.Length; i++) binding.BindOutputToDevice(_sig.PresentNames[i], _cacheMemory);
                _session.RunWithBinding(_runOptions, binding);
                var outputs = binding.GetOutputValues();
                presents = _sparePresents ??= new OrtValue[_sig.PresentNames.Length];
                _sparePresents = null;
                outputs[0].Dispose(); // a second handle on the reusable logits buffer
                for (int i = 0; i < presents.Length; i++) presents[i] = outputs[i + 1];
                _useConverted = false;
                if (_sig.LogitsType == TensorElementType.Float16) ConvertHalfLogits(_stepLogitsValue!, 1);
            }
            else
            {
                // Prefill (or a cache-less model): ONNX Runtime allocates the outputs; the session takes ownership of each.
                var results = _session.Run(_runOptions, _inputNames, _inputValues, _outputNames);
                presents = new OrtValue[results.Count - 1];
                for (int i = 1; i < results.Count; i++) presents[i - 1] = results[i];
                _ownedLogits = results[0];
                var shape = _ownedLogits.GetTensorTypeAndShape().Shape;
                // Some exports return only the last position's logits; both forms are read from their last row.
                if (shape.Length != 3 || shape[0] != _batch || (shape[1] != fed && shape[1] != 1))
                    throw new InvalidDataException($"'{_model.ModelPath}': logits came back with shape [{string.Join(",", shape)}], expected [{_batch},{fed},vocab] or [{_batch},1,vocab].");
                VocabSize = checked((int)shape[2]);
                _logitsSequence = checked((int)shape[1]);
                _useConverted = false;
                if (_sig.LogitsType == TensorElementType.Float16) ConvertHalfLogits(_ownedLogits, _logitsSequence);
            }

            if (!noCache)
            {
                var old = _past!;
                _past = presents;
                presents = null;
                for (int i = 0; i < old.Length; i++)
                {
                    old[i].Dispose();
                    old[i] = null!;
                }
                _sparePresents = old; // the array (not the tensors) is reused for the next step's outputs
            }
            else
            {
                foreach (var value in presents) value.Dispose();
                presents = null;
            }
        }
        catch (OnnxRuntimeException) when (_cancellation.IsCancellationRequested)
        {
            throw new OperationCanceledException(_cancellation);
        }
        finally
        {
            idsValue?.Dispose();
            maskValue?.Dispose();
            positionValue?.Dispose();
            if (presents is not null) foreach (var value in presents) value?.Dispose();
            Array.Clear(_inputValues);
        }
    }

    private OrtValue StepLogitsValue()
    {
        if (_stepLogitsValue is not null) return _stepLogitsValue;
        long[] shape = [_batch, 1, VocabSize];
        if (_sig.LogitsType == TensorElementType.Float16)
            _stepLogitsValue = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float16, shape);
        else
        {
            _stepLogits = new float[_batch * VocabSize];
            _stepLogitsValue = OrtValue.CreateTensorValueFromMemory(_stepLogits, shape);
        }
        return _stepLogitsValue;
    }

    private void ConvertHalfLogits(OrtValue logits, int sequence)
    {
        int v = VocabSize;
        if (_converted.Length < _batch * v) _converted = new float[_batch * v];
        var halves = MemoryMarshal.Cast<byte, Half>(logits.GetTensorMutableRawData());
        for (int r = 0; r < _batch; r++)
        {
            var row = halves.Slice(((r * sequence) + sequence - 1) * v, v);
            var dst = _converted.AsSpan(r * v, v);
            for (int j = 0; j < v; j++) dst[j] = (float)row[j];
        }
        _useConverted = true;
    }

    /// <summary>The cache tensor shape for <paramref name="length"/> positions, in one reused array (ONNX Runtime copies shapes).</summary>
    private long[] CacheShape(int length)
    {
        if (_sig.Layout == DecoderLayout.OrtGpt2)
        {
            _cacheShape ??= [2, _batch, _heads, 0, _headSize];
            _cacheShape[3] = length;
        }
        else
        {
            _cacheShape ??= [_batch, _heads, 0, _headSize];
            _cacheShape[2] = length;
        }
        return _cacheShape;
    }

    private OrtValue[] CreateEmptyCache()
    {
        var cache = new OrtValue[_sig.PastNames.Length];
        long[] shape = CacheShape(0);
        for (int i = 0; i < cache.Length; i++)
            cache[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, _sig.CacheType, shape);
        return cache;
    }

    private void DisposeStepViews()
    {
        _stepIdsValue?.Dispose();
        _stepIdsValue = null;
        _stepPositionsValue?.Dispose();
        _stepPositionsValue = null;
    }

    private void DisposeOwnedLogits()
    {
        _ownedLogits?.Dispose();
        _ownedLogits = null;
    }

    /// <summary>Releases the cache tensors and buffers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _registration.Dispose();
        DisposeOwnedLogits();
        if (_past is not null) foreach (var value in _past) value.Dispose();
        _past = null;
        _stepLogitsValue?.Dispose();
        _binding?.Dispose();
        DisposeStepViews();
        _branchFalse?.Dispose();
        _branchTrue?.Dispose();
        _runOptions.Dispose();
    }
}
