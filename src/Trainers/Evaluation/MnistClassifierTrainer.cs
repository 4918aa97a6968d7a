using System.Diagnostics;
using Aigc.MLNet.Transforms.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Evaluation;

/// <summary>Options of <see cref="MnistClassifierTrainer"/>.</summary>
public sealed class MnistClassifierTrainerOptions
{
    /// <summary>Network architecture.</summary>
    public LeNetOptions Architecture { get; set; } = new();

    /// <summary>Passes over the training set (default 5).</summary>
    public int Epochs { get; set; } = 5;

    /// <summary>Images per Adam step (default 64).</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Adam learning rate (default 1e-3), decayed by <see cref="LearningRateDecay"/> after every epoch.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Multiplicative learning-rate decay per epoch (default 0.7).</summary>
    public double LearningRateDecay { get; set; } = 0.7;

    /// <summary>Seed of weight initialisation, dropout and shuffling.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Architecture, nameof(Architecture));
        Architecture.Validate();
        if (Epochs < 1) throw new ArgumentException($"MnistClassifierTrainerOptions.Epochs must be >= 1, got {Epochs}.", nameof(Epochs));
        if (BatchSize < 1) throw new ArgumentException($"MnistClassifierTrainerOptions.BatchSize must be >= 1, got {BatchSize}.", nameof(BatchSize));
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new ArgumentException($"MnistClassifierTrainerOptions.LearningRate must be > 0, got {LearningRate}.", nameof(LearningRate));
        if (!(LearningRateDecay > 0 && LearningRateDecay <= 1))
            throw new ArgumentException($"MnistClassifierTrainerOptions.LearningRateDecay must be in (0, 1], got {LearningRateDecay}.", nameof(LearningRateDecay));
    }
}

/// <summary>Trains the <see cref="LeNet"/> MNIST classifier used by the image metrics (classifier score, FID).</summary>
public static class MnistClassifierTrainer
{
    /// <summary>Trains a classifier on <paramref name="train"/> with Adam and cross-entropy, deterministically for a seed.</summary>
    /// <param name="train">Training images and labels.</param>
    /// <param name="options">Training options.</param>
    /// <param name="log">Receives one progress line per epoch.</param>
    /// <param name="epochEnd">Called after each epoch with its number and the network (e.g. to save a checkpoint); the network is in eval mode during the call.</param>
    public static LeNet Train(MnistDataset train, MnistClassifierTrainerOptions? options = null, Action<string>? log = null,
        Action<int, LeNet>? epochEnd = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        options ??= new MnistClassifierTrainerOptions();
        options.Validate();
        if (train.Count == 0)
            throw new ArgumentException("The MNIST training set is empty.", nameof(train));

        torch.manual_seed(options.Seed);
        var network = new LeNet(options.Architecture);
        using var optimizer = torch.optim.Adam(network.parameters(), options.LearningRate);
        var rng = new Random(options.Seed);
        int[] order = Enumerable.Range(0, train.Count).ToArray();
        const int pixels = MnistDataset.PixelCount;
        var batchPixels = new float[options.BatchSize * pixels];
        var batchLabels = new long[options.BatchSize];
        double lr = options.LearningRate;
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            network.train();
            rng.Shuffle(order);
            double lossSum = 0;
            int steps = 0;
            for (int start = 0; start < train.Count; start += options.BatchSize)
            {
                int b = Math.Min(options.BatchSize, train.Count - start);
                for (int i = 0; i < b; i++)
                {
                    int row = order[start + i];
                    Array.Copy(train.Pixels, (long)row * pixels, batchPixels, (long)i * pixels, pixels);
                    batchLabels[i] = train.Labels[row];
                }
                using var scope = torch.NewDisposeScope();
                var x = torch.tensor(batchPixels.AsSpan(0, b * pixels).ToArray(), [b, 1, LeNet.ImageSide, LeNet.ImageSide]);
                var y = torch.tensor(batchLabels.AsSpan(0, b).ToArray(), [b]);
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(network.forward(x), y);
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
                steps++;
            }
            lr *= options.LearningRateDecay;
            foreach (var group in optimizer.ParamGroups)
                group.LearningRate = lr;
            log?.Invoke($"epoch {epoch}/{options.Epochs}: mean loss {lossSum / steps:F4}, {clock.Elapsed.TotalSeconds:F1} s");
            if (epochEnd is not null)
            {
                network.eval();
                epochEnd(epoch, network);
            }
        }
        network.eval();
        return network;
    }

    /// <summary>Fraction of correctly classified images.</summary>
    /// <param name="network">The classifier.</param>
    /// <param name="data">Images and labels.</param>
    /// <param name="batchSize">Images per forward pass.</param>
    public static double Accuracy(LeNet network, MnistDataset data, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
            throw new ArgumentException("The MNIST evaluation set is empty.", nameof(data));
        network.eval();
        using var noGrad = torch.no_grad();
        long correct = 0;
        const int pixels = MnistDataset.PixelCount;
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int b = Math.Min(batchSize, data.Count - start);
            using var scope = torch.NewDisposeScope();
            var x = torch.tensor(data.Pixels.AsSpan(start * pixels, b * pixels).ToArray(), [b, 1, LeNet.ImageSide, LeNet.ImageSide]);
            var predicted = network.forward(x).argmax(1).data<long>().ToArray();
            for (int i = 0; i < b; i++)
                if (predicted[i] == data.Labels[start + i])
                    correct++;
        }
        return (double)correct / data.Count;
    }

    /// <summary>Saves the weights (TorchSharp format) atomically: written beside the target, then renamed over it.</summary>
    /// <param name="network">The classifier.</param>
    /// <param name="path">Destination file.</param>
    public static void SaveWeights(LeNet network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            network.save(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }

    /// <summary>Loads weights saved by <see cref="SaveWeights"/> into a network of the given architecture.</summary>
    /// <param name="path">Weights file.</param>
    /// <param name="architecture">The architecture the weights were trained with.</param>
    public static LeNet LoadWeights(string path, LeNetOptions? architecture = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Classifier weights file '{path}' does not exist.", path);
        var network = new LeNet(architecture);
        try
        {
            network.load(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            network.Dispose();
            throw new InvalidDataException($"Classifier weights file '{path}' does not match the LeNet architecture " +
                $"({network.Options.Conv1Channels}/{network.Options.Conv2Channels}/{network.Options.HiddenUnits}): {e.Message}", e);
        }
        network.eval();
        return network;
    }
}
