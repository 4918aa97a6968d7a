using System.Diagnostics;
using Aigc.MLNet.Onnx.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// Continuous batching over one <see cref="CausalLM"/>: concurrent requests share decode steps. New requests join the
/// running batch at step boundaries and finished (or cancelled) rows leave it, so a short request never waits for a long
/// one and free rows are refilled at once. Greedy search and sampling, with every <see cref="GenerationOptions"/>
/// control except beam search.
/// </summary>
/// <remarks>
/// <para>One background thread owns the batch. At each step boundary it retires finished and cancelled rows, prefills
/// each admitted request alone (batch 1: one prompt pass, whatever NumReturnSequences is), chooses its first tokens,
/// and merges its cache into the running batch in native memory (rows right-aligned with left padding, per-row
/// positions counted from 0); then it runs one decode step for every row and chooses each row's next token with that
/// request's own logits pipeline and random generators.</para>
/// <para>A request's result is the one <see cref="TextGenerator"/> gives for the same prompt and options run alone: the
/// same processors and warpers, each sequence's generator seeded from <see cref="GenerationOptions.Seed"/> and its
/// return-sequence number only, the same finish rules (end of sequence, stop sequences on decoded text, length capped by
/// n_positions). Only floating-point rounding can differ, as between any two batch sizes.</para>
/// <para>Admission is first come, first served: the queue's head waits until it fits, so a request asking for many
/// sequences is not starved by small ones. Beyond the requests that free rows will take at the next step boundary, at
/// most <see cref="ContinuousBatchOptions.MaxQueueLength"/> requests wait; past that <see cref="TrySubmit"/> answers
/// <see cref="SubmitStatus.QueueFull"/>. Thread-safe.</para>
/// </remarks>
public sealed class ContinuousBatchScheduler : IDisposable
{
    private readonly CausalLM _model;
    private readonly Tokenizer? _tokenizer;
    private readonly int _maxRows;
    private readonly int _maxQueue;
    private readonly RowBatchDecoder _batch;
    private readonly LinkedList<Job> _queue = new(); // guarded by itself
    private readonly ManualResetEventSlim _wake = new(false); // never disposed: a cancellation callback may still set it
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private readonly List<Row> _active = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private float[] _scores = [];
    private volatile bool _accepting = true;
    private volatile bool _disposing;
    private volatile int _activeRows;
    private volatile int _admittingRows; // rows of requests taken from the queue and not yet in the batch
    private long _steps;
    private long _rowSteps;
    private long _generatedTokens;
    private long _promptTokens;
    private long _completed;
    private long _cancelled;
    private long _failed;

    /// <summary>Starts a scheduler over <paramref name="model"/> (not owned: dispose it after the scheduler).</summary>
    /// <param name="model">The model; it needs a key/value cache, and for batches above one row an attention_mask and position_ids input.</param>
    /// <param name="options">Limits; null for 8 rows and a queue of 64.</param>
    /// <param name="tokenizer">Tokenizer for text, stop sequences and streaming; null uses <see cref="CausalLM.Tokenizer"/>.</param>
    public ContinuousBatchScheduler(CausalLM model, ContinuousBatchOptions? options = null, Tokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.ThrowIfDisposed();
        options ??= new ContinuousBatchOptions();
        options.Validate();
        var sig = model.Signature;
        if (options.MaxBatchSize > 1 && (!sig.HasAttentionMask || !sig.HasPositionIds))
            throw new NotSupportedException(
                $"'{model.ModelPath}' lacks an {(sig.HasAttentionMask ? "position_ids" : "attention_mask")} input, so rows of different lengths cannot share a batch " +
                $"(inputs: {string.Join(", ", model.InputNames)}); set {nameof(ContinuousBatchOptions.MaxBatchSize)} to 1.");
        _model = model;
        _tokenizer = tokenizer ?? model.Tokenizer;
        _maxRows = options.MaxBatchSize;
        _maxQueue = options.MaxQueueLength;
        _batch = new RowBatchDecoder(model, _maxRows);
        _thread = new Thread(Loop) { IsBackground = true, Name = "aigc continuous batching" };
        _thread.Start();
    }

    /// <summary>The model generating.</summary>
    public CausalLM Model => _model;

    /// <summary>The tokenizer for text, or null.</summary>
    public Tokenizer? Tokenizer => _tokenizer;

    /// <summary>Most rows decoded together.</summary>
    public int MaxBatchSize => _maxRows;

    /// <summary>Most requests waiting for rows.</summary>
    public int MaxQueueLength => _maxQueue;

    /// <summary>Requests not yet admitted into the batch (those that free rows will take at the next step boundary included).</summary>
    public int QueueLength
    {
        get { lock (_queue) return _queue.Count; }
    }

    /// <summary>Rows in the running batch now (the batch occupancy is this over <see cref="MaxBatchSize"/>).</summary>
    public int ActiveRows => _activeRows;

    /// <summary>False once <see cref="DrainAsync"/> or <see cref="Dispose"/> has been called.</summary>
    public bool IsAcceptingRequests => _accepting;

    /// <summary>Decode steps run so far.</summary>
    public long DecodeSteps => Interlocked.Read(ref _steps);

    /// <summary>Rows summed over every decode step (divide by <see cref="DecodeSteps"/> for the mean batch size).</summary>
    public long RowSteps => Interlocked.Read(ref _rowSteps);

    /// <summary>Tokens chosen so far (the first token of each sequence included).</summary>
    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    /// <summary>Prompt tokens prefilled so far.</summary>
    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    /// <summary>Requests completed, cancelled and failed so far.</summary>
    public (long Completed, long Cancelled, long Failed) RequestCounts =>
        (Interlocked.Read(ref _completed), Interlocked.Read(ref _cancelled), Interlocked.Read(ref _failed));

    /// <summary>
    /// Queues a request unless the queue is full or the scheduler is draining. Invalid options or prompts throw here,
    /// on the caller's thread, with the message of <see cref="TextGenerator"/>.
    /// </summary>
    /// <param name="prompt">Prompt token ids (empty: the model's BOS id).</param>
    /// <param name="options">Generation options (NumBeams must be 1); null for greedy search of 20 new tokens.</param>
    /// <param name="generation">The running request when accepted, else null.</param>
    /// <param name="logitsProcessors">Extra processors, as <see cref="TextGenerator.LogitsProcessors"/>: one instance per request.</param>
    /// <param name="cancellationToken">Cancels the request: it leaves the queue or the batch at the next step boundary and frees its rows.</param>
    /// <exception cref="ArgumentException">The options ask for beam search, more sequences than <see cref="MaxBatchSize"/>, or are invalid.</exception>
    public SubmitStatus TrySubmit(IReadOnlyList<int> prompt, GenerationOptions? options, out BatchedGeneration? generation,
        IReadOnlyList<Func<ILogitsProcessor>>? logitsProcessors = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        generation = null;
        ObjectDisposedException.ThrowIf(_disposing, this);
        options ??= new GenerationOptions();
        if (options.NumBeams != 1)
            throw new ArgumentException($"Continuous batching runs greedy search and sampling; {nameof(GenerationOptions.NumBeams)} must be 1, found {options.NumBeams}.", nameof(options));
        if (options.NumReturnSequences > _maxRows)
            throw new ArgumentException($"{nameof(GenerationOptions.NumReturnSequences)} is {options.NumReturnSequences} but the batch holds at most {_maxRows} rows.", nameof(options));
        if (_model.Config.SlidesContext(options))
        {
            // Rows share one cache here, so a row cannot re-read a cropped window alone: requests stop at n_positions.
            if (options.ContextOverflow == ContextOverflow.SlideWindow)
                throw new ArgumentException($"Continuous batching stops every row at the model's n_positions; {nameof(GenerationOptions.ContextOverflow)} = SlideWindow is only available through {nameof(TextGenerator)}.", nameof(options));
            options = options.Clone();
            options.ContextOverflow = ContextOverflow.Stop;
        }
        var tokenizer = _tokenizer;
        var stops = options.StopSequences;
        Func<ITextTracker>? trackers = tokenizer is null ? null : () => new StreamingTextTracker(tokenizer, stops);
        var request = new DecodingRequest(_model, [prompt], options, trackers, null, logitsProcessors);
        var job = new Job(request, new BatchedGeneration(request.Prompts[0], request.Options.NumReturnSequences), cancellationToken, _clock.Elapsed);
        lock (_queue)
        {
            if (!_accepting) return SubmitStatus.NotAccepting;
            // Requests that free rows will take at the next step boundary are not waiting; only those beyond are counted.
            int freeRows = Math.Max(0, _maxRows - _activeRows - _admittingRows);
            if (_queue.Count >= _maxQueue + freeRows) return SubmitStatus.QueueFull;
            job.Node = _queue.AddLast(job);
        }
        if (cancellationToken.CanBeCanceled)
        {
            job.Registration = cancellationToken.Register(static state =>
            {
                var (scheduler, j) = ((ContinuousBatchScheduler, Job))state!;
                scheduler.OnCancelled(j);
            }, (this, job));
            if (job.Ended) job.Registration.Dispose(); // the loop may have finished it before the registration existed
        }
        generation = job.Handle;
        _wake.Set();
        return SubmitStatus.Accepted;
    }

    /// <summary>Queues a request; throws when the queue is full or the scheduler is draining. See <see cref="TrySubmit"/>.</summary>
    /// <param name="prompt">Prompt token ids (empty: the model's BOS id).</param>
    /// <param name="options">Generation options (NumBeams must be 1); null for greedy search of 20 new tokens.</param>
    /// <param name="logitsProcessors">Extra processors: one instance per request.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="InvalidOperationException">The queue is full or the scheduler takes no new requests.</exception>
    public BatchedGeneration Submit(IReadOnlyList<int> prompt, GenerationOptions? options = null,
        IReadOnlyList<Func<ILogitsProcessor>>? logitsProcessors = null, CancellationToken cancellationToken = default)
        => TrySubmit(prompt, options, out var generation, logitsProcessors, cancellationToken) switch
        {
            SubmitStatus.Accepted => generation!,
            SubmitStatus.QueueFull => throw new InvalidOperationException($"The queue is full ({_maxQueue} requests are waiting); try again later."),
            _ => throw new InvalidOperationException("The scheduler is draining and takes no new requests."),
        };

    /// <summary>Encodes <paramref name="prompt"/> with the tokenizer and queues it; see <see cref="Submit(IReadOnlyList{int}, GenerationOptions?, IReadOnlyList{Func{ILogitsProcessor}}?, CancellationToken)"/>.</summary>
    /// <param name="prompt">The text prompt.</param>
    /// <param name="options">Generation options (NumBeams must be 1); null for greedy search of 20 new tokens.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public BatchedGeneration Submit(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var tokenizer = _tokenizer ?? throw new InvalidOperationException($"The model '{_model.ModelPath}' has no tokenizer; submit token ids.");
        return Submit(tokenizer.EncodeToIds(prompt), options, null, cancellationToken);
    }

    /// <summary>
    /// Stops taking new requests and completes when every queued and running request has finished (graceful shutdown).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the requests keep running).</param>
    public Task DrainAsync(CancellationToken cancellationToken = default)
    {
        lock (_queue) _accepting = false;
        _wake.Set();
        return _drained.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops the loop; requests still queued or running end with an <see cref="OperationCanceledException"/>.</summary>
    public void Dispose()
    {
        if (_disposing) return;
        lock (_queue)
        {
            _accepting = false;
            _disposing = true;
        }
        _batch.Abort();
        _wake.Set();
        _thread.Join();
        _batch.Dispose();
        _drained.TrySetResult();
    }

    private void OnCancelled(Job job)
    {
        bool queued = false;
        lock (_queue)
        {
            if (job.Node is not null)
            {
                _queue.Remove(job.Node);
                job.Node = null;
                queued = true;
            }
        }
        job.Cancelled = true;
        if (queued) CompleteCancelled(job); // the loop never saw it
        _wake.Set();
    }

    private void Loop()
    {
        var sources = new RowBatchDecoder.RowSource[_maxRows];
        var survivors = new List<Row>(_maxRows);
        var joiningCaches = new List<OrtValue[]>();
        var tokens = new int[_maxRows];
        while (!_disposing)
        {
            _wake.Reset();

            // Step boundary: retire finished and cancelled rows, then admit queued requests while they fit.
            bool changed = false;
            int count = 0;
            survivors.Clear();
            for (int i = 0; i < _active.Count; i++)
            {
                var row = _active[i];
                if (row.Finished is null && !row.Job.Cancelled && !row.Job.Ended)
                {
                    sources[count++] = RowBatchDecoder.RowSource.Existing(i);
                    survivors.Add(row);
                }
                else
                {
                    changed = true;
                    if (row.Finished is null) CompleteCancelled(row.Job);
                }
            }
            while (TryDequeue(_maxRows - survivors.Count) is { } job)
            {
                if (Prefill(job) is not { } admitted) continue;
                joiningCaches.Add(admitted.Cache);
                foreach (var row in admitted.Rows)
                {
                    sources[count++] = RowBatchDecoder.RowSource.Join(admitted.Cache, admitted.Length);
                    survivors.Add(row);
                }
                changed = true;
            }
            if (changed)
            {
                try
                {
                    _batch.Rebuild(sources.AsSpan(0, count));
                }
                catch (Exception e)
                {
                    foreach (var row in survivors) FailJob(row.Job, e);
                    survivors.Clear();
                    _batch.Rebuild([]);
                }
                finally
                {
                    foreach (var cache in joiningCaches)
                        foreach (var value in cache) value.Dispose();
                    joiningCaches.Clear();
                }
                _active.Clear();
                _active.AddRange(survivors);
                lock (_queue)
                {
                    _activeRows = _active.Count;
                    _admittingRows = 0;
                }
            }

            if (_active.Count == 0)
            {
                if (!_accepting && QueueLength == 0) _drained.TrySetResult();
                _wake.Wait();
                continue;
            }

            for (int i = 0; i < _active.Count; i++) tokens[i] = _active[i].Pending;
            try
            {
                _batch.Step(tokens.AsSpan(0, _active.Count));
            }
            catch (OperationCanceledException) when (_disposing)
            {
                break;
            }
            catch (Exception e)
            {
                // The batch state is unknown after a failed step: fail its requests and start a fresh batch.
                foreach (var row in _active) FailJob(row.Job, e);
                _active.Clear();
                _activeRows = 0;
                _batch.Rebuild([]);
                continue;
            }
            Interlocked.Increment(ref _steps);
            Interlocked.Add(ref _rowSteps, _active.Count);
            for (int i = 0; i < _active.Count; i++)
            {
                var row = _active[i];
                if (row.Finished is not null || row.Job.Cancelled || row.Job.Ended) continue;
                try
                {
                    Choose(row, _batch.Logits(i));
                }
                catch (Exception e)
                {
                    // A failing logits processor ends its own request only; its rows leave at the next boundary.
                    FailJob(row.Job, e);
                }
            }
        }

        // Disposed: nothing more will run.
        var left = new HashSet<Job>(_active.Select(r => r.Job));
        lock (_queue)
        {
            foreach (var job in _queue) left.Add(job);
            _queue.Clear();
        }
        foreach (var job in left) FailJob(job, new OperationCanceledException("The scheduler shut down before this request finished."));
        _active.Clear();
        _activeRows = 0;
    }

    private Job? TryDequeue(int freeRows)
    {
        lock (_queue)
        {
            var first = _queue.First;
            if (first is null || first.Value.Rows.Length > freeRows) return null;
            _queue.RemoveFirst();
            first.Value.Node = null;
            _admittingRows += first.Value.Rows.Length;
            return first.Value;
        }
    }

    /// <summary>Prefills a request alone and chooses its first tokens; returns its unfinished rows and their shared cache.</summary>
    private (Row[] Rows, OrtValue[] Cache, int Length)? Prefill(Job job)
    {
        job.Handle.QueueTime = _clock.Elapsed - job.Submitted;
        if (job.Cancelled)
        {
            CompleteCancelled(job);
            return null;
        }
        var request = job.Request;
        int[] prompt = request.Prompts[0];
        try
        {
            using var session = new DecoderSession(_model, 1, prompt.Length + 1, job.Token, hostCache: true);
            session.Prefill([prompt], request.PadTokenId);
            Interlocked.Add(ref _promptTokens, prompt.Length);
            _batch.VocabSize = session.VocabSize;
            if (_scores.Length != session.VocabSize) _scores = new float[session.VocabSize];
            var logits = session.Logits(0);
            foreach (var row in job.Rows) Choose(row, logits);
            var running = job.Rows.Where(r => r.Finished is null).ToArray();
            if (running.Length == 0 || job.Cancelled)
            {
                if (job.Cancelled) CompleteCancelled(job);
                return null;
            }
            return (running, session.DetachCache(), prompt.Length);
        }
        catch (OperationCanceledException) when (job.Token.IsCancellationRequested)
        {
            CompleteCancelled(job);
            return null;
        }
        catch (Exception e)
        {
            FailJob(job, e);
            return null;
        }
    }

    /// <summary>Chooses a row's next token from its logits, as <see cref="SamplingSearch"/> does, and publishes its text.</summary>
    private void Choose(Row row, ReadOnlySpan<float> logits)
    {
        var job = row.Job;
        var request = job.Request;
        logits.CopyTo(_scores);
        int length = row.PromptLength + row.Generated;
        int token = request.NextToken(row.Sequence.AsSpan(0, length), row.PromptLength, _scores, row.Random);
        if (row.LogProbs is not null)
        {
            LogitsPipeline.LogSoftmax(_scores);
            row.LogProbs[row.Generated] = _scores[token];
            row.SumLogProbs += _scores[token];
        }
        row.Sequence[length] = token;
        row.Generated++;
        row.Pending = token;
        Interlocked.Increment(ref _generatedTokens);
        job.Handle.TimeToFirstToken ??= _clock.Elapsed - job.Submitted;

        FinishReason? reason = null;
        if (request.IsEos(token)) reason = FinishReason.EndOfSequence;
        else if (row.Text?.Append(token) == true) reason = FinishReason.StopSequence;
        else if (row.Generated >= row.MaxNew) reason = FinishReason.Length;
        string delta = row.Text?.TakeDelta() ?? "";
        if (reason is null)
        {
            if (delta.Length > 0) job.Handle.Write(new TextDelta(0, row.Index, delta, null));
            return;
        }
        row.Finished = reason;
        job.Handle.Write(new TextDelta(0, row.Index, delta + (row.Text?.TakeRest() ?? ""), reason, row.Generated));
        if (--job.Unfinished == 0) CompleteJob(job);
    }

    private void CompleteJob(Job job)
    {
        if (!job.TryEnd()) return;
        var results = new GeneratedSequence[job.Rows.Length];
        for (int j = 0; j < results.Length; j++)
        {
            var row = job.Rows[j];
            int n = row.Generated;
            results[j] = new GeneratedSequence(0, row.Sequence.AsSpan(row.PromptLength, n).ToArray(), row.Text?.Text, row.Finished ?? FinishReason.Length,
                row.LogProbs is null ? null : row.SumLogProbs, row.LogProbs?.AsSpan(0, n).ToArray());
        }
        Interlocked.Increment(ref _completed);
        job.Handle.Complete(results);
    }

    private void CompleteCancelled(Job job)
    {
        if (!job.TryEnd()) return;
        Interlocked.Increment(ref _cancelled);
        job.Handle.Cancel(job.Token);
    }

    private void FailJob(Job job, Exception error)
    {
        if (!job.TryEnd()) return;
        Interlocked.Increment(ref _failed);
        job.Handle.Fail(error);
    }

    /// <summary>A request: its validated inputs, rows and handle.</summary>
    private sealed class Job
    {
        private int _ended;

        public Job(DecodingRequest request, BatchedGeneration handle, CancellationToken token, TimeSpan submitted)
        {
            Request = request;
            Handle = handle;
            Token = token;
            Submitted = submitted;
            var options = request.Options;
            int baseSeed = options.Seed ?? Random.Shared.Next();
            Rows = new Row[options.NumReturnSequences];
            for (int j = 0; j < Rows.Length; j++)
                Rows[j] = new Row(this, j, options.DoSample ? new Random(DecodingRequest.RowSeed(baseSeed, j)) : null);
            Unfinished = Rows.Length;
        }

        public DecodingRequest Request { get; }
        public BatchedGeneration Handle { get; }
        public CancellationToken Token { get; }
        public TimeSpan Submitted { get; }
        public Row[] Rows { get; }
        public int Unfinished { get; set; }
        public LinkedListNode<Job>? Node { get; set; }
        public CancellationTokenRegistration Registration { get; set; }
        public volatile bool Cancelled;

        /// <summary>True once the request has completed, been cancelled or failed.</summary>
        public bool Ended => Volatile.Read(ref _ended) != 0;

        /// <summary>True the first time only: a request ends once (completed, cancelled or failed).</summary>
        public bool TryEnd()
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0) return false;
            Registration.Dispose();
            return true;
        }
    }

    /// <summary>One sequence of a request: its tokens, random generator and text.</summary>
    private sealed class Row
    {
        public Row(Job job, int index, Random? random)
        {
            Job = job;
            Index = index;
            Random = random;
            var request = job.Request;
            int[] prompt = request.Prompts[0];
            PromptLength = prompt.Length;
            MaxNew = request.MaxNewTokens[0];
            Sequence = new int[prompt.Length + Math.Max(1, MaxNew)];
            prompt.CopyTo(Sequence, 0);
            Text = request.TextTrackers?.Invoke();
            if (request.Options.OutputScores) LogProbs = new float[Math.Max(1, MaxNew)];
        }

        public Job Job { get; }
        public int Index { get; }
        public Random? Random { get; }
        public int[] Sequence { get; }
        public int PromptLength { get; }
        public int MaxNew { get; }
        public ITextTracker? Text { get; }
        public float[]? LogProbs { get; }
        public double SumLogProbs { get; set; }
        public int Generated { get; set; }
        public int Pending { get; set; }
        public FinishReason? Finished { get; set; }
    }
}
