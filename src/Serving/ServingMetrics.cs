using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Serving;

/// <summary>
/// The server's counters, rendered at <c>GET /metrics</c> in the Prometheus text format (version 0.0.4). Counters are
/// cumulative since start; gauges (queue depth, batch rows) are read from the scheduler when scraped.
/// </summary>
internal sealed class ServingMetrics
{
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private readonly ConcurrentDictionary<(string Route, int Status), long> _requests = new();
    private readonly ConcurrentDictionary<string, long> _rejected = new();
    private readonly Histogram _timeToFirstToken = new(LatencyBuckets);
    private readonly Histogram _duration = new(LatencyBuckets);
    private long _promptTokens;
    private long _completionTokens;
    private long _inFlight;

    public void CountRequest(string route, int status) => _requests.AddOrUpdate((route, status), 1, static (_, n) => n + 1);

    public void CountRejected(string reason) => _rejected.AddOrUpdate(reason, 1, static (_, n) => n + 1);

    public void AddTokens(long prompt, long completion)
    {
        Interlocked.Add(ref _promptTokens, prompt);
        Interlocked.Add(ref _completionTokens, completion);
    }

    public void ObserveTimeToFirstToken(TimeSpan t) => _timeToFirstToken.Observe(t.TotalSeconds);

    public void ObserveDuration(TimeSpan t) => _duration.Observe(t.TotalSeconds);

    public void GenerationStarted() => Interlocked.Increment(ref _inFlight);

    public void GenerationEnded() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Renders every metric.</summary>
    public string Render(ContinuousBatchScheduler scheduler, string modelId)
    {
        var sb = new StringBuilder(4096);
        string model = $"model=\"{Escape(modelId)}\"";
        Header(sb, "aigc_http_requests_total", "counter", "HTTP requests answered, by route and status code.");
        foreach (var ((route, status), n) in _requests.OrderBy(p => p.Key.Route, StringComparer.Ordinal).ThenBy(p => p.Key.Status))
            Line(sb, "aigc_http_requests_total", $"route=\"{Escape(route)}\",status=\"{status}\"", n);
        Header(sb, "aigc_requests_rejected_total", "counter", "Generation requests refused before running: queue_full (429) or not_accepting (503, shutting down).");
        foreach (var reason in new[] { "queue_full", "not_accepting" })
            Line(sb, "aigc_requests_rejected_total", $"reason=\"{reason}\"", _rejected.GetValueOrDefault(reason));
        Header(sb, "aigc_generation_requests_in_flight", "gauge", "Generation requests queued or running.");
        Line(sb, "aigc_generation_requests_in_flight", model, Interlocked.Read(ref _inFlight));
        var (completed, cancelled, failed) = scheduler.RequestCounts;
        Header(sb, "aigc_scheduler_requests_total", "counter", "Scheduler requests (one per prompt) by outcome; cancelled covers client disconnects and timeouts.");
        Line(sb, "aigc_scheduler_requests_total", model + ",outcome=\"completed\"", completed);
        Line(sb, "aigc_scheduler_requests_total", model + ",outcome=\"cancelled\"", cancelled);
        Line(sb, "aigc_scheduler_requests_total", model + ",outcome=\"failed\"", failed);
        Header(sb, "aigc_prompt_tokens_total", "counter", "Prompt tokens of completed requests.");
        Line(sb, "aigc_prompt_tokens_total", model, Interlocked.Read(ref _promptTokens));
        Header(sb, "aigc_completion_tokens_total", "counter", "Tokens generated for completed requests (each choice counted).");
        Line(sb, "aigc_completion_tokens_total", model, Interlocked.Read(ref _completionTokens));
        Header(sb, "aigc_generated_tokens_total", "counter", "Tokens chosen by the scheduler, including those of cancelled requests.");
        Line(sb, "aigc_generated_tokens_total", model, scheduler.GeneratedTokens);
        Header(sb, "aigc_queue_depth", "gauge", "Requests waiting for batch rows.");
        Line(sb, "aigc_queue_depth", model, scheduler.QueueLength);
        Header(sb, "aigc_queue_capacity", "gauge", "Most requests that may wait (--max-queue); beyond it requests get 429.");
        Line(sb, "aigc_queue_capacity", model, scheduler.MaxQueueLength);
        Header(sb, "aigc_batch_rows", "gauge", "Rows in the running batch.");
        Line(sb, "aigc_batch_rows", model, scheduler.ActiveRows);
        Header(sb, "aigc_batch_max_rows", "gauge", "Most rows decoded together (--max-batch).");
        Line(sb, "aigc_batch_max_rows", model, scheduler.MaxBatchSize);
        Header(sb, "aigc_batch_occupancy", "gauge", "Rows in the running batch over the most it holds, 0 to 1.");
        Line(sb, "aigc_batch_occupancy", model, (double)scheduler.ActiveRows / scheduler.MaxBatchSize);
        Header(sb, "aigc_decode_steps_total", "counter", "Decode steps run.");
        Line(sb, "aigc_decode_steps_total", model, scheduler.DecodeSteps);
        Header(sb, "aigc_decode_row_steps_total", "counter", "Rows summed over decode steps; over aigc_decode_steps_total it is the mean batch size.");
        Line(sb, "aigc_decode_row_steps_total", model, scheduler.RowSteps);
        _timeToFirstToken.Render(sb, "aigc_time_to_first_token_seconds", "Time from a request's arrival to its first generated token.", model);
        _duration.Render(sb, "aigc_request_duration_seconds", "Time from a generation request's arrival to its last token.", model);
        return sb.ToString();
    }

    private static void Header(StringBuilder sb, string name, string type, string help) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Line(StringBuilder sb, string name, string labels, double value) =>
        sb.Append(name).Append('{').Append(labels).Append("} ").Append(Format(value)).Append('\n');

    private static string Format(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    /// <summary>A cumulative histogram with fixed buckets, thread-safe.</summary>
    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length + 1];
        private long _count;
        private double _sum;
        private readonly Lock _lock = new();

        public void Observe(double value)
        {
            int i = 0;
            while (i < bounds.Length && value > bounds[i]) i++;
            lock (_lock)
            {
                _counts[i]++;
                _count++;
                _sum += value;
            }
        }

        public void Render(StringBuilder sb, string name, string help, string labels)
        {
            long[] counts;
            long count;
            double sum;
            lock (_lock)
            {
                counts = (long[])_counts.Clone();
                count = _count;
                sum = _sum;
            }
            Header(sb, name, "histogram", help);
            long cumulative = 0;
            for (int i = 0; i <= bounds.Length; i++)
            {
                cumulative += counts[i];
                string le = i < bounds.Length ? bounds[i].ToString("R", CultureInfo.InvariantCulture) : "+Inf";
                Line(sb, name + "_bucket", $"{labels},le=\"{le}\"", cumulative);
            }
            Line(sb, name + "_sum", labels, sum);
            Line(sb, name + "_count", labels, count);
        }
    }
}
