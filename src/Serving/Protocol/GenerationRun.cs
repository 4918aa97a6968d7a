using System.Diagnostics;
using System.Runtime.CompilerServices;
using Aigc.MLNet.Onnx.Generation;
using Microsoft.AspNetCore.Http;

namespace Aigc.MLNet.Serving.Protocol;

/// <summary>One choice of a finished request.</summary>
internal readonly record struct Choice(int Index, string Text, FinishReason FinishReason, int TokenCount);

/// <summary>A piece of a streamed choice; <see cref="FinishReason"/> is set on the choice's last piece.</summary>
internal readonly record struct ChoiceDelta(int Index, string Text, FinishReason? FinishReason);

/// <summary>
/// One HTTP request's prompts in the scheduler: submits them all or none (429 when the queue is full, 503 while
/// shutting down), cancels their rows when the client disconnects or the request times out, and reads their choices.
/// Choice i·n + j is sequence j of prompt i.
/// </summary>
internal sealed class GenerationRun : IDisposable
{
    private readonly HttpContext _http;
    private readonly ModelService _service;
    private readonly SamplingRequest _sampling;
    private readonly CancellationTokenSource _cancellation;
    private readonly List<BatchedGeneration> _generations = [];
    private readonly long _started = Stopwatch.GetTimestamp();
    private bool _finished;
    private bool _counted;

    private GenerationRun(HttpContext http, ModelService service, SamplingRequest sampling)
    {
        _http = http;
        _service = service;
        _sampling = sampling;
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        _cancellation.CancelAfter(service.Options.RequestTimeout);
    }

    /// <summary>Cancelled when the client disconnects or the request times out.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>True when the request ran past the server's timeout (rather than the client leaving).</summary>
    public bool TimedOut => _cancellation.IsCancellationRequested && !_http.RequestAborted.IsCancellationRequested;

    /// <summary>Prompt tokens over all prompts.</summary>
    public int PromptTokens { get; private set; }

    /// <summary>Submits every prompt with its options.</summary>
    public static GenerationRun Start(HttpContext http, ModelService service, SamplingRequest sampling, IReadOnlyList<int[]> prompts, IReadOnlyList<GenerationOptions> options)
    {
        if (service.Draining) throw ShuttingDown(service);
        var run = new GenerationRun(http, service, sampling);
        try
        {
            for (int i = 0; i < prompts.Count; i++)
            {
                SubmitStatus status;
                BatchedGeneration? generation;
                try
                {
                    status = service.Scheduler.TrySubmit(prompts[i], options[i], out generation, sampling.Processors, run.Token);
                }
                catch (ArgumentException e)
                {
                    throw OpenAIError.BadField(prompts.Count > 1 ? $"prompt[{i}]" : "prompt", e.Message);
                }
                if (status == SubmitStatus.QueueFull)
                {
                    service.Metrics.CountRejected("queue_full");
                    throw new OpenAIError(StatusCodes.Status429TooManyRequests,
                        $"The server is busy: {service.Scheduler.QueueLength} requests are waiting for {service.Scheduler.MaxBatchSize} batch rows (--max-queue {service.Scheduler.MaxQueueLength}). Retry after the Retry-After delay.",
                        "rate_limit_error", null, "rate_limit_exceeded");
                }
                if (status == SubmitStatus.NotAccepting) throw ShuttingDown(service);
                run._generations.Add(generation!);
                run.PromptTokens += generation!.PromptTokenIds.Count;
            }
        }
        catch
        {
            run.Dispose(); // cancels the prompts already submitted
            throw;
        }
        service.Metrics.GenerationStarted();
        run._counted = true;
        return run;
    }

    private static OpenAIError ShuttingDown(ModelService service)
    {
        service.Metrics.CountRejected("not_accepting");
        return new OpenAIError(StatusCodes.Status503ServiceUnavailable, "The server is shutting down and takes no new requests; send it to another replica.",
            "server_error", null, "server_shutting_down");
    }

    /// <summary>Waits for every choice, ordered by index; throws 408 on timeout and 500 when the model fails.</summary>
    public async Task<List<Choice>> CompleteAsync()
    {
        try
        {
            var choices = new List<Choice>();
            int n = _sampling.N;
            for (int p = 0; p < _generations.Count; p++)
            {
                var sequences = await _generations[p].Completion.ConfigureAwait(false);
                for (int j = 0; j < n; j++)
                {
                    var s = sequences[_sampling.CopiesGreedyResult ? 0 : j];
                    choices.Add(new Choice(p * n + j, s.Text ?? "", s.FinishReason, s.TokenIds.Count));
                }
            }
            Finish(choices.Sum(c => (long)c.TokenCount));
            return choices;
        }
        catch (Exception e)
        {
            throw Translate(e);
        }
    }

    /// <summary>Streams every choice's text as it is generated (prompt after prompt); then <see cref="CompletedTokens"/> is known.</summary>
    public async IAsyncEnumerable<ChoiceDelta> StreamAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int n = _sampling.N;
        long tokens = 0;
        for (int p = 0; p < _generations.Count; p++)
        {
            var reader = _generations[p].Deltas;
            while (true)
            {
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    throw Translate(e);
                }
                if (!more) break;
                while (reader.TryRead(out var delta))
                {
                    if (_sampling.CopiesGreedyResult)
                        for (int j = 0; j < n; j++) yield return new ChoiceDelta(p * n + j, delta.Text, delta.FinishReason);
                    else yield return new ChoiceDelta(p * n + delta.SequenceIndex, delta.Text, delta.FinishReason);
                }
            }
            IReadOnlyList<GeneratedSequence> sequences;
            try
            {
                sequences = await _generations[p].Completion.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw Translate(e);
            }
            tokens += _sampling.CopiesGreedyResult ? (long)n * sequences[0].TokenIds.Count : sequences.Sum(s => (long)s.TokenIds.Count);
        }
        CompletedTokens = tokens;
        Finish(tokens);
    }

    /// <summary>Completion tokens over all choices, once the stream has ended.</summary>
    public long CompletedTokens { get; private set; }

    private void Finish(long completionTokens)
    {
        _finished = true;
        var metrics = _service.Metrics;
        metrics.AddTokens(PromptTokens, completionTokens);
        if (_generations.Min(g => g.TimeToFirstToken) is TimeSpan first)
            metrics.ObserveTimeToFirstToken(first);
        metrics.ObserveDuration(Stopwatch.GetElapsedTime(_started));
    }

    /// <summary>Maps a failed wait onto the error the client gets (a client that left just gets the cancellation).</summary>
    private Exception Translate(Exception e)
    {
        if (e is OpenAIError) return e;
        if (e is OperationCanceledException && TimedOut)
            return new OpenAIError(StatusCodes.Status408RequestTimeout,
                $"The request did not finish within {_service.Options.RequestTimeout.TotalSeconds:0.###} s (--request-timeout); its generation was cancelled.",
                "timeout_error", null, "request_timeout");
        if (e is OperationCanceledException) return e;
        return new OpenAIError(StatusCodes.Status500InternalServerError, $"The model failed while generating: {e.Message}", "server_error", null, "generation_failed");
    }

    /// <summary>Cancels whatever is still queued or running (client gone, error) and releases the timer.</summary>
    public void Dispose()
    {
        if (!_finished || _generations.Any(g => !g.Completion.IsCompleted)) _cancellation.Cancel();
        if (_counted) _service.Metrics.GenerationEnded();
        _cancellation.Dispose();
    }
}
