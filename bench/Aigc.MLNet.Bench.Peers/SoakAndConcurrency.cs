using System.Diagnostics;
using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>Managed heap (after a full collection) and resident set size at one moment.</summary>
internal sealed record MemorySample(string Phase, int Generations, long ManagedBytes, long RssBytes, double ElapsedSeconds)
{
    public static MemorySample Take(string phase, int generations, Stopwatch clock)
    {
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        return new MemorySample(phase, generations, managed, ReadRss(), clock.Elapsed.TotalSeconds);
    }

    /// <summary>VmRSS from /proc/self/status (what `ps` and the OOM killer see), else the runtime's working set.</summary>
    public static long ReadRss()
    {
        const string path = "/proc/self/status";
        if (File.Exists(path))
            foreach (var line in File.ReadLines(path))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return Environment.WorkingSet;
    }
}

/// <summary>Soak outcome: samples at start, after warm-up, every so often, and at the end.</summary>
internal sealed record SoakResult(string Model, string Route, int Generations, int WarmupGenerations, int NewTokens, MemorySample[] Samples,
    double RssGrowthAfterWarmup, double ManagedGrowthAfterWarmup, double GenerationsPerSecond, string? Error);

/// <summary>Concurrency outcome: every threaded result compared with the serial one.</summary>
internal sealed record ConcurrencyResult(string Model, int Threads, int Jobs, int Compared, int Mismatches, int Exceptions, string? FirstProblem,
    double SerialSeconds, double ParallelSeconds);

internal static class SoakAndConcurrency
{
    public static readonly string[] Prompts =
    [
        "The quick brown fox", "Hello, my name is", "In 1887, the city of", "def fibonacci(n):",
        "Once upon a time", "The weather today is", "Machine learning is", "To be, or not to be",
        "ML.NET pipelines", "The capital of France is", "First Citizen:", "import numpy as np",
        "Dear Sir or Madam,", "1, 2, 3, 4,", "Über café naïve", "The answer is 42 because",
    ];

    /// <summary>
    /// Runs <paramref name="generations"/> text generations in this process through <paramref name="generateText"/>,
    /// sampling memory at start, after <paramref name="warmup"/> generations, every tenth of the run, and at the end.
    /// </summary>
    public static SoakResult Soak(string model, string route, int generations, int warmup, int newTokens, Func<string, int, string> generateText)
    {
        var clock = Stopwatch.StartNew();
        var samples = new List<MemorySample> { MemorySample.Take("start", 0, clock) };
        string? error = null;
        int done = 0;
        double warmupSeconds = 0;
        int every = Math.Max(1, generations / 10);
        try
        {
            for (; done < generations; done++)
            {
                // Alternate greedy and seeded sampling paths and vary the prompt, as a long-running service would.
                generateText(Prompts[done % Prompts.Length], done);
                int finished = done + 1;
                if (finished == warmup)
                {
                    samples.Add(MemorySample.Take("after warm-up", finished, clock));
                    warmupSeconds = clock.Elapsed.TotalSeconds;
                }
                else if (finished > warmup && finished % every == 0 && finished != generations)
                    samples.Add(MemorySample.Take("during", finished, clock));
            }
        }
        catch (Exception e)
        {
            error = $"generation {done}: {e.GetType().Name}: {e.Message}";
        }
        samples.Add(MemorySample.Take("end", done, clock));
        var warm = samples.FirstOrDefault(s => s.Phase == "after warm-up") ?? samples[0];
        var end = samples[^1];
        double rate = (done - warm.Generations) / Math.Max(1e-9, clock.Elapsed.TotalSeconds - warmupSeconds);
        return new SoakResult(model, route, done, warmup, newTokens, [.. samples],
            (double)(end.RssBytes - warm.RssBytes) / warm.RssBytes, (double)(end.ManagedBytes - warm.ManagedBytes) / warm.ManagedBytes, rate, error);
    }

    /// <summary>
    /// Runs every job serially, then <paramref name="threads"/> threads each run every job (each thread starting at a
    /// different job) against the same generator; each threaded output must equal the serial one token for token.
    /// </summary>
    public static ConcurrencyResult Concurrency(string model, TextGenerator generator, int threads, int newTokens)
    {
        var jobs = Prompts.Select((p, i) => (Prompt: p, Options: i % 2 == 0
            ? new GenerationOptions { MaxNewTokens = newTokens }
            : new GenerationOptions { MaxNewTokens = newTokens, DoSample = true, TopK = 40, TopP = 0.9, Temperature = 0.8, Seed = 1000 + i })).ToArray();

        var clock = Stopwatch.StartNew();
        var serial = jobs.Select(j => generator.Generate(j.Prompt, j.Options)[0].TokenIds.ToArray()).ToArray();
        double serialSeconds = clock.Elapsed.TotalSeconds;

        int compared = 0, mismatches = 0, exceptions = 0;
        string? first = null;
        var gate = new object();
        using var start = new Barrier(threads);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                for (int k = 0; k < jobs.Length; k++)
                {
                    int j = (k + index * 2) % jobs.Length;
                    try
                    {
                        var ids = generator.Generate(jobs[j].Prompt, jobs[j].Options)[0].TokenIds.ToArray();
                        bool same = ids.AsSpan().SequenceEqual(serial[j]);
                        lock (gate)
                        {
                            compared++;
                            if (!same)
                            {
                                mismatches++;
                                first ??= $"thread {index}, job {j} ('{jobs[j].Prompt}'): [{string.Join(",", ids)}] vs serial [{string.Join(",", serial[j])}]";
                            }
                        }
                    }
                    catch (Exception e)
                    {
                        lock (gate)
                        {
                            exceptions++;
                            first ??= $"thread {index}, job {j}: {e.GetType().Name}: {e.Message}";
                        }
                    }
                }
            }) { Name = $"concurrency-{t}" };
        }
        clock.Restart();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        return new ConcurrencyResult(model, threads, jobs.Length * threads, compared, mismatches, exceptions, first, serialSeconds, clock.Elapsed.TotalSeconds);
    }
}
