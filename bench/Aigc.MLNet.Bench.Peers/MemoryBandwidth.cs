using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>Result of the streaming-read benchmark: best and median bytes/s over the passes.</summary>
internal sealed record BandwidthResult(int Threads, long BufferBytes, int Passes, double BestBytesPerSecond, double MedianBytesPerSecond);

/// <summary>
/// Streaming-read bandwidth: every thread sums its own contiguous slice of a buffer far larger than the caches with
/// four independent 32-byte vector accumulators (so the loop waits on memory, not on adds); passes start together
/// behind a barrier and a pass lasts until the slowest thread is done.
/// </summary>
internal static unsafe class MemoryBandwidth
{
    public static BandwidthResult Measure(int threads, long bufferBytes, int passes)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be positive.");
        long chunk = 128L * threads;
        bufferBytes = bufferBytes / chunk * chunk;
        if (bufferBytes <= 0) throw new ArgumentOutOfRangeException(nameof(bufferBytes), bufferBytes, "buffer too small.");
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bufferBytes, 64);
        try
        {
            // Touch every page with non-zero data so reads hit real, distinct memory.
            for (long offset = 0; offset < bufferBytes; offset += int.MaxValue / 2)
            {
                int length = (int)Math.Min(int.MaxValue / 2, bufferBytes - offset);
                new Span<byte>(buffer + offset, length).Fill(1);
            }

            long slice = bufferBytes / threads;
            var seconds = new double[passes];
            var sums = new float[threads];
            using var start = new Barrier(threads + 1);
            using var done = new Barrier(threads + 1);
            int pass = -1;
            var workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                int index = t;
                workers[t] = new Thread(() =>
                {
                    float* from = (float*)(buffer + index * slice);
                    long count = slice / sizeof(float);
                    while (true)
                    {
                        start.SignalAndWait();
                        if (Volatile.Read(ref pass) >= passes) return;
                        sums[index] += Sum(from, count);
                        done.SignalAndWait();
                    }
                }) { IsBackground = true, Name = $"bandwidth-{t}" };
                workers[t].Start();
            }
            for (int i = 0; i < passes; i++)
            {
                Volatile.Write(ref pass, i);
                long begin = Stopwatch.GetTimestamp();
                start.SignalAndWait();
                done.SignalAndWait();
                seconds[i] = Stopwatch.GetElapsedTime(begin).TotalSeconds;
            }
            Volatile.Write(ref pass, passes);
            start.SignalAndWait();
            foreach (var w in workers) w.Join();
            if (sums.Sum() == 0) throw new InvalidOperationException("The bandwidth buffer read as zeros.");

            var rates = seconds.Select(s => bufferBytes / s).OrderBy(r => r).ToArray();
            return new BandwidthResult(threads, bufferBytes, passes, rates[^1], rates[rates.Length / 2]);
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private static float Sum(float* data, long count)
    {
        var a = Vector256<float>.Zero;
        var b = Vector256<float>.Zero;
        var c = Vector256<float>.Zero;
        var d = Vector256<float>.Zero;
        long i = 0;
        for (; i + 32 <= count; i += 32)
        {
            a += Vector256.Load(data + i);
            b += Vector256.Load(data + i + 8);
            c += Vector256.Load(data + i + 16);
            d += Vector256.Load(data + i + 24);
        }
        float sum = Vector256.Sum(a + b + c + d);
        for (; i < count; i++) sum += data[i];
        return sum;
    }
}
