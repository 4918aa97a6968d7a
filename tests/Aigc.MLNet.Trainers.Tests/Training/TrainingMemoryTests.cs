using System.Runtime.InteropServices;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Trainers.Tests.Images;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms;
using Microsoft.ML;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Tests.Training;

/// <summary>Native memory across epochs: no live tensors accumulate, the native heap and the resident set stay flat.</summary>
[TestClass]
public sealed class TrainingMemoryTests
{
    private const int Rows = 640, Batch = 64, Epochs = 8;

    [TestMethod]
    [DataRow(false, DisplayName = "MLP GAN")]
    [DataRow(true, DisplayName = "MLP VAE")]
    public void NoNativeMemoryGrowthAcrossEpochs(bool vae)
    {
        var ml = new MLContext(1);
        string folder = ImageTestData.TempFolder(vae ? "mem-vae" : "mem-gan");
        var live = new List<long>();
        var rss = new List<long>();
        var heap = new List<long>();
        // Called on the training thread at each epoch end: TorchSharp's per-thread statistics count the tensors
        // created on that thread and not yet disposed; RSS is read after a full GC so managed garbage does not count.
        var progress = new SyncProgress(p =>
        {
            if (!p.IsEpochEnd) return;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            rss.Add(ResidentBytes());
            heap.Add(MallocInUseBytes());
        });
        var data = ImageTestData.View(ml, Rows);
        if (vae)
            ml.Generative().Trainers.Vae(new VaeOptions
            {
                ModelFolder = folder, HiddenSize = 400, BatchSize = Batch, Epochs = Epochs, Seed = 3, ReportEveryNSteps = 0, Progress = progress,
            }).Train(data);
        else
            ml.Generative().Trainers.Gan(new GanOptions
            {
                ModelFolder = folder, BatchSize = Batch, Epochs = Epochs, Seed = 3, ReportEveryNSteps = 0, Progress = progress,
            }).Train(data);

        Assert.HasCount(Epochs, live);
        Console.WriteLine($"live tensors {string.Join(", ", live)}; heap kB {string.Join(", ", heap.Select(h => h >> 10))}; RSS MB {string.Join(", ", rss.Select(r => r >> 20))}");
        // Exactly the same tensors are alive at the end of epoch 2 and of every later epoch (a step that leaked one
        // tensor would add Rows / Batch = 10 per epoch).
        for (int e = 2; e < Epochs; e++)
            Assert.AreEqual(live[1], live[e], $"live tensors after epoch {e + 1} vs epoch 2: {string.Join(", ", live)}");
        // Bytes in use in glibc's heap (libtorch's CPU allocator allocates through malloc): within 8 MB of epoch 2's
        // after the last epoch (measured: ±1.3 MB, once a single step of +3.6 MB between two epochs, then flat — the
        // heap is process-wide, so a one-time allocation elsewhere in the test process shows too). A leaked 64x784
        // float batch per step would add 2 MB per epoch, 12 MB over the 6 epochs compared.
        long heapGrowth = heap[^1] - heap[1];
        Assert.IsLessThan(8L << 20, heapGrowth, $"native heap in use grew by {heapGrowth / 1024} kB from epoch 2 to {Epochs}: {string.Join(", ", heap.Select(h => h >> 10))} kB");
        // The resident set also moves with glibc keeping or returning freed pages and with the GC's heaps, so it only
        // gets a coarse bound.
        long rssGrowth = rss[^1] - rss[1];
        Assert.IsLessThan(48L << 20, rssGrowth, $"RSS grew by {rssGrowth / 1024} kB from epoch 2 to {Epochs}: {string.Join(", ", rss.Select(r => r >> 20))} MB");
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>Resident set size from /proc/self/statm (pages × page size).</summary>
    private static long ResidentBytes()
    {
        string[] fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }

    /// <summary>Bytes glibc's allocator has handed out and not had back, over all arenas (mallinfo2: uordblks + hblkhd).</summary>
    private static long MallocInUseBytes()
    {
        var info = MallInfo2();
        return (long)(info.InUseChunks + info.MappedBytes);
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallocInfo MallInfo2();

    [StructLayout(LayoutKind.Sequential)]
    private struct MallocInfo
    {
        public nuint Arena, OrdinaryBlocks, SmallBlocks, MappedBlocks, MappedBytes, MaxUsed, FreeFastBytes, InUseChunks, FreeChunks, KeepCost;
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
