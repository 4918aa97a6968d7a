using Aigc.MLNet.Trainers.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests.Training;

[TestClass]
public sealed class TrainingLoopTests
{
    [TestMethod]
    public void NonFiniteLossStopsTrainingNamingTheStepAndTheLastGoodCheckpoint()
    {
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", "nan-" + Guid.NewGuid().ToString("N")[..8]);
        using var task = new NaNAtStepTask(nanStep: 5);
        var data = new ImageTrainingData { Pixels = new float[10 * 4], Count = 10, Features = 4 };
        var options = new Options { Epochs = 3, BatchSize = 2, CheckpointFolder = folder, CheckpointEveryNSteps = 2 };
        var e = Assert.ThrowsExactly<NonFiniteLossException>(() => TrainingLoop.Run(task, data, options, torch.CPU, null));
        Assert.AreEqual(5, e.Step);
        Assert.AreEqual(Path.Combine(folder, "checkpoint.bin"), e.LastGoodCheckpoint);
        StringAssert.Contains(e.Message, "step 5");
        StringAssert.Contains(e.Message, "'Loss' is NaN");
        StringAssert.Contains(e.Message, e.LastGoodCheckpoint);
        // The checkpoint on disk is the one written after step 4 (steps completed = 4), not a NaN state.
        using var check = new NaNAtStepTask(nanStep: 100);
        Assert.AreEqual(4, TrainingCheckpoint.Load(e.LastGoodCheckpoint!, check, options.Seed, options.BatchSize));
    }

    [TestMethod]
    public void PermutationsAreSeededAndComplete()
    {
        var a = TrainingLoop.Permutation(100, 42);
        CollectionAssert.AreEqual(a, TrainingLoop.Permutation(100, 42));
        CollectionAssert.AreNotEqual(a, TrainingLoop.Permutation(100, 43));
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 100).ToArray(), a);
    }

    private sealed class Options : GenerativeTrainerOptions;

    private sealed class NaNAtStepTask : ITrainingTask, IDisposable
    {
        private readonly Linear _layer = nn.Linear(4, 1);
        private readonly SGD _optimizer;
        private readonly int _nanStep;
        private int _calls;

        public NaNAtStepTask(int nanStep)
        {
            _nanStep = nanStep;
            _optimizer = optim.SGD(_layer.parameters(), 0.1);
            Modules = [_layer];
            Optimizers = [_optimizer];
        }

        public string Kind => "Test";
        public IReadOnlyList<nn.Module> Modules { get; }
        public IReadOnlyList<OptimizerHelper> Optimizers { get; }
        public IReadOnlyList<string> LossNames { get; } = ["Loss"];

        public void Step(Tensor pixels, Tensor? labels, Generator noise, Span<float> losses)
        {
            losses[0] = _calls++ == _nanStep ? float.NaN : 1f;
        }

        public void Dispose()
        {
            _optimizer.Dispose();
            _layer.Dispose();
        }
    }
}
