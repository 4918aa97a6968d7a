// DDPM on MNIST: train for a fixed number of steps, sample with DDIM over the exported ONNX denoiser, score with the
// LeNet classifier score and FID (vs the MNIST test set), write a PNG grid; or time one denoiser step.
//   dotnet run -c Release --project bench/Diffusion -- train [--steps 3000] [--minutes 0 (wall budget)] [--threads 0] [--ema 0.999] [--channels 32] [--batch 64] [--lr 1e-3]
//       [--seed 1] [--conditional] [--out artifacts/ddpm-mnist] [--count 1000] [--ddim-steps 50] [--guidance 1]
//       [--eta 0] [--classifier artifacts/mnist-lenet/lenet-mnist.onnx] [--grid docs/images/ddpm-mnist-samples.png]
//   dotnet run -c Release --project bench/Diffusion -- eval --out artifacts/ddpm-mnist [--count ...] [--ddim-steps ...] ...
//   dotnet run -c Release --project bench/Diffusion -- speed [--channels 32] [--repeats 20] [--threads 1]
//   dotnet run -c Release --project bench/Diffusion -- real [--count 1000]   (metrics of real images at the same n)
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Trainers.Diffusion;
using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Evaluation;
using Aigc.MLNet.Transforms.Evaluation.Images;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

string mode = args.Length > 0 ? args[0] : "train";
var opt = new Dictionary<string, string>(StringComparer.Ordinal);
var flags = new HashSet<string>(StringComparer.Ordinal);
for (int i = 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unexpected argument '{args[i]}'.");
    if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) opt[args[i]] = args[++i];
    else flags.Add(args[i]);
}
string S(string name, string fallback) => opt.TryGetValue(name, out var v) ? v : fallback;
int I(string name, int fallback) => int.Parse(S(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
double D(string name, double fallback) => double.Parse(S(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

int seed = I("--seed", 1);
if (opt.ContainsKey("--threads")) torch.set_num_threads(I("--threads", 0));
string folder = Path.GetFullPath(S("--out", "artifacts/ddpm-mnist"));
switch (mode)
{
    case "train":
        Train();
        Evaluate();
        break;
    case "eval":
        Evaluate();
        break;
    case "speed":
        Speed();
        break;
    case "real":
        RealFloor();
        break;
    default:
        throw new ArgumentException($"Unknown mode '{mode}' (train, eval, speed).");
}

void Train()
{
    var ml = new MLContext(seed);
    var train = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Train);
    bool conditional = flags.Contains("--conditional");
    var options = new DiffusionOptions
    {
        ModelFolder = folder,
        LabelColumnName = conditional ? "Label" : null,
        BaseChannels = I("--channels", 32),
        BatchSize = I("--batch", 64),
        LearningRate = D("--lr", 1e-3),
        Timesteps = I("--timesteps", 1000),
        Epochs = 1000,
        MaxSteps = I("--steps", 3000),
        Seed = seed,
        CheckpointFolder = Path.Combine(folder, "ckpt"),
        CheckpointEveryNSteps = 250,
        Resume = flags.Contains("--resume"),
        ReportEveryNSteps = 50,
        Progress = new ConsoleProgress(),
    };
    options.EmaDecay = D("--ema", 0.999);
    options.Threads = I("--threads", 0);
    // A wall-clock budget: cancel at the first progress report past --minutes (a checkpoint is written), then "resume" with
    // MaxSteps = the steps done, which trains nothing and exports. `--steps N` alone reproduces such a run exactly.
    double minutes = D("--minutes", 0);
    using var budget = new CancellationTokenSource();
    long stepsAtBudget = 0;
    if (minutes > 0)
    {
        var started = Stopwatch.StartNew();
        var console = options.Progress;
        options.CancellationToken = budget.Token;
        options.Progress = new Progress(p =>
        {
            console!.Report(p);
            if (started.Elapsed.TotalMinutes >= minutes && !budget.IsCancellationRequested) { stepsAtBudget = p.Step; budget.Cancel(); }
        });
    }
    Console.WriteLine($"train: steps {options.MaxSteps}, C {options.BaseChannels}, batch {options.BatchSize}, lr {options.LearningRate}, T {options.Timesteps}, " +
                      $"conditional {conditional}, seed {seed}, torch threads {torch.get_num_threads()}");
    var wall = Stopwatch.StartNew();
    Aigc.MLNet.Trainers.Images.ImageTrainingResult result;
    try
    {
        result = ml.Generative().Trainers.Diffusion(options).Train(train);
    }
    catch (OperationCanceledException) when (stepsAtBudget > 0)
    {
        Console.WriteLine($"budget of {minutes} min reached after {stepsAtBudget} steps ({wall.Elapsed.TotalMinutes:F1} min); exporting that checkpoint");
        options.CancellationToken = default;
        options.Resume = true;
        options.MaxSteps = stepsAtBudget;
        result = ml.Generative().Trainers.Diffusion(options).Train(train);
    }
    Console.WriteLine($"trained {result.Summary.Steps} steps ({result.Summary.StepsThisRun} this run) in {result.Summary.Elapsed.TotalMinutes:F1} min " +
                      $"(wall incl. data + export {wall.Elapsed.TotalMinutes:F1} min); last epoch means: " +
                      string.Join(", ", result.Summary.EpochReports.TakeLast(3).Select(r => $"epoch {r.Epoch} MSE {r.Losses["Mse"]:F4}")) + $"; model in {result.ModelFolder}");
}

void Evaluate()
{
    int count = I("--count", 1000);
    var sampling = new DiffusionSamplingOptions
    {
        Sampler = S("--sampler", "ddim") == "ddpm" ? DiffusionSamplerKind.Ddpm : DiffusionSamplerKind.Ddim,
        Steps = I("--ddim-steps", 50),
        Eta = D("--eta", 0),
        GuidanceScale = D("--guidance", 1),
    };
    using var generator = DiffusionImageGenerator.Open(folder);
    int classes = generator.ClassCount;
    var clock = Stopwatch.StartNew();
    const int chunk = 100;
    var images = new float[count * 784];
    for (int start = 0; start < count; start += chunk)
    {
        int rows = Math.Min(chunk, count - start);
        int[] seeds = Enumerable.Range(seed * 1_000_000 + start, rows).ToArray();
        int[] labels = classes > 0 ? Enumerable.Range(start, rows).Select(i => i % classes).ToArray() : [];
        generator.Generate(seeds, labels, sampling).CopyTo(images, start * 784);
        Console.WriteLine($"  sampled {start + rows}/{count} ({clock.Elapsed.TotalSeconds:F0} s)");
    }
    double sampleSeconds = clock.Elapsed.TotalSeconds;
    string grid = S("--grid", "docs/images/ddpm-mnist-samples.png");
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(grid))!);
    ImageGrid.SavePng(grid, Enumerable.Range(0, Math.Min(64, count)).Select(i => images.AsSpan(i * 784, 784).ToArray()).ToArray(), columns: 8);

    var ml = new MLContext(seed);
    using var classifier = MnistClassifier.Load(S("--classifier", "artifacts/mnist-lenet/lenet-mnist.onnx"));
    var test = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Test);
    var view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new ImageRow { Pixels = images.AsSpan(i * 784, 784).ToArray() }));
    var m = ml.GenerativeEvaluation().EvaluateImages(view, classifier, test);
    Console.WriteLine($"DDPM {folder}: {sampling.Sampler} steps {(sampling.Sampler == DiffusionSamplerKind.Ddim ? sampling.Steps : generator.Schedule.Timesteps)} " +
                      $"eta {sampling.Eta} guidance {sampling.GuidanceScale}{(classes > 0 ? " (labels cycling 0..9)" : "")}: n={m.Count} " +
                      $"classifier score {m.ClassifierScore:F3} ± {m.ClassifierScoreStandardDeviation:F3} ({m.Splits} splits), FID {m.FrechetDistance:F2} (vs MNIST test), " +
                      $"modes {m.ModesCovered}/10, histogram [{string.Join(" ", m.ClassHistogram)}]; sampling {sampleSeconds:F0} s " +
                      $"({sampleSeconds * 1000 / count:F0} ms/image); grid {Path.GetFullPath(grid)}");
}

// The same metrics for --count real MNIST training images: the floor a perfect generator reaches at this sample size.
void RealFloor()
{
    int count = I("--count", 1000);
    var ml = new MLContext(seed);
    using var classifier = MnistClassifier.Load(S("--classifier", "artifacts/mnist-lenet/lenet-mnist.onnx"));
    var test = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Test);
    var real = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Train, count);
    var m = ml.GenerativeEvaluation().EvaluateImages(real, classifier, test);
    Console.WriteLine($"MNIST train[0..{count}) (real): n={m.Count} classifier score {m.ClassifierScore:F3} ± {m.ClassifierScoreStandardDeviation:F3}, " +
                      $"FID {m.FrechetDistance:F2} (vs MNIST test), modes {m.ModesCovered}/10");
}

void Speed()
{
    int channels = I("--channels", 32), repeats = I("--repeats", 20);
    torch.manual_seed(seed);
    using var model = new DiffusionUNet(channels, 1000, 0);
    model.eval();
    using var session = new InferenceSession(DiffusionModelExport.Denoiser(model).ToArray());
    using var run = new RunOptions();
    Console.WriteLine($"denoiser C={channels}, torch threads {torch.get_num_threads()}, median of {repeats} after 3 warm-ups");
    foreach (int batch in new[] { 1, 16, 64 })
    {
        var x = new float[batch * 784];
        LatentSampler.Sample(batch, x);
        var t = Enumerable.Repeat(500L, batch).ToArray();
        double Median(Action step)
        {
            for (int i = 0; i < 3; i++) step();
            var times = new List<double>();
            for (int i = 0; i < repeats; i++)
            {
                var sw = Stopwatch.StartNew();
                step();
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            return times[times.Count / 2];
        }
        double torchMs = Median(() =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var eps = model.forward(tensor(x, [batch, 784]), tensor(t), null);
            _ = eps.data<float>().ToArray();
        });
        double onnxMs = Median(() =>
        {
            using var xv = OrtValue.CreateTensorValueFromMemory(x, [batch, 784]);
            using var tv = OrtValue.CreateTensorValueFromMemory(t, [batch]);
            using var outputs = session.Run(run, ["x", "t"], [xv, tv], ["epsilon"]);
            _ = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        });
        Console.WriteLine($"batch {batch,3}: TorchSharp {torchMs,8:F2} ms/step  ONNX Runtime {onnxMs,8:F2} ms/step  (ratio {torchMs / onnxMs:F2})");
    }
}

sealed class ImageRow
{
    [VectorType(784)]
    public float[] Pixels { get; set; } = [];
}

sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}

sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    public void Report(TrainingProgress value) => Console.WriteLine($"[{_clock.Elapsed.TotalMinutes:F1} min] {value}");
}
