using System.CommandLine;
using System.Globalization;
using Aigc.MLNet.Cli.Jobs;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Trainers.Training;

namespace Aigc.MLNet.Cli.Commands;

/// <summary><c>aigc train gpt|lstm|gan|vae</c> with a progress bar, Ctrl+C handling and a loss-curve PNG.</summary>
internal static class TrainCommands
{
    public static Command Create(CliContext context)
    {
        var train = new Command("train", "Train small generative models on this machine's CPU.");
        train.Add(Language(context, LanguageModelKind.Gpt));
        train.Add(Language(context, LanguageModelKind.Lstm));
        train.Add(Image(context, ImageModelKind.Gan));
        train.Add(Image(context, ImageModelKind.Vae));
        return train;
    }

    private static Command Language(CliContext context, LanguageModelKind kind)
    {
        bool gpt = kind == LanguageModelKind.Gpt;
        var command = new Command(gpt ? "gpt" : "lstm", gpt
            ? "Train a character-level GPT (GPT-2 shaped) on a text file with mlContext.Generative().Trainers.Gpt; writes checkpoint/, onnx/ (ready for 'generate text') and loss-curve.png."
            : "Train a character-level LSTM language model on a text file with mlContext.Generative().Trainers.Lstm; writes checkpoint/, onnx/ (ready for 'generate text') and loss-curve.png.");
        var data = new Option<string?>("--data") { Description = "UTF-8 text file (default: Tiny Shakespeare from 'aigc data fetch')." };
        var output = new Option<string>("--out", "-o") { Description = "Output folder.", DefaultValueFactory = _ => Path.Combine("artifacts", gpt ? "char-gpt" : "char-lstm") };
        var iterations = new Option<int>("--iterations") { Description = "Training steps.", DefaultValueFactory = _ => 500 }.InRange(1, MaxSteps);
        var batch = new Option<int>("--batch-size") { Description = "Sequences per step.", DefaultValueFactory = _ => 12 }.InRange(1, 4096);
        var block = new Option<int>("--block-size") { Description = "Context length in characters.", DefaultValueFactory = _ => 64 }.InRange(2, 8192);
        var layers = new Option<int>("--layers") { Description = "Layers.", DefaultValueFactory = _ => 2 }.InRange(1, 64);
        var heads = new Option<int>("--heads") { Description = "Attention heads (GPT); must divide --embedding-size.", DefaultValueFactory = _ => 4 }.InRange(1, 64);
        var embd = new Option<int>("--embedding-size") { Description = "Embedding size.", DefaultValueFactory = _ => 64 }.InRange(1, 8192);
        var hidden = new Option<int>("--hidden-size") { Description = "LSTM hidden size.", DefaultValueFactory = _ => 128 }.InRange(1, 8192);
        var lr = new Option<double>("--learning-rate") { Description = "Peak learning rate (warm-up + cosine).", DefaultValueFactory = _ => 1e-3 }.Positive();
        var maxChars = new Option<int>("--max-chars") { Description = "Use only the first N characters of the text (0 = all).", DefaultValueFactory = _ => 0 }.InRange(0, int.MaxValue);
        var evalEvery = new Option<int>("--eval-interval") { Description = "Validation every N steps.", DefaultValueFactory = _ => 100 }.InRange(1, MaxSteps);
        var seed = new Option<int>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = all).", DefaultValueFactory = _ => 0 }.InRange(0, MaxThreads);
        var resume = new Option<bool>("--resume") { Description = "Continue from <out>/checkpoint (written at every validation and on Ctrl+C or SIGTERM) up to --iterations, with the same other flags." };
        foreach (var o in new Option[] { data, output, iterations, batch, block, layers, embd, lr, maxChars, evalEvery, seed, threads, resume }) command.Add(o);
        command.Add(gpt ? heads : hidden);
        var quantization = new QuantizationFlags(required: false);
        if (gpt) quantization.AddTo(command);
        command.SetAction((parse, ct) =>
        {
            int e = parse.GetValue(embd), h = parse.GetValue(heads);
            if (gpt && e % h != 0)
                throw new CliException($"--embedding-size ({e}) must be a multiple of --heads ({h}): each head gets --embedding-size / --heads values.", ExitCodes.Usage);
            var settings = new LanguageModelJobSettings
            {
                Kind = kind, CorpusPath = parse.GetValue(data) ?? DatasetPaths.TinyShakespeareFile, OutputFolder = parse.GetValue(output)!,
                Iterations = parse.GetValue(iterations), BatchSize = parse.GetValue(batch),
                BlockSize = parse.GetValue(block), Layers = parse.GetValue(layers),
                Heads = gpt ? parse.GetValue(heads) : 1, EmbeddingSize = parse.GetValue(embd),
                HiddenSize = gpt ? 0 : parse.GetValue(hidden), LearningRate = parse.GetValue(lr), MaxChars = parse.GetValue(maxChars),
                EvalInterval = parse.GetValue(evalEvery), Seed = parse.GetValue(seed), Threads = parse.GetValue(threads),
                Resume = parse.GetValue(resume), ExportQuantization = gpt ? quantization.Read(parse) : null,
            };
            var result = TrainLanguageModel(context, settings, ct);
            return Task.FromResult(result.Cancelled ? context.Stop.ExitCode : ExitCodes.Success);
        });
        return command;
    }

    /// <summary>Runs a language-model job behind a progress bar and prints where the files are (relative to <paramref name="relativeTo"/> when given).</summary>
    internal static LanguageModelJobResult TrainLanguageModel(CliContext context, LanguageModelJobSettings settings, CancellationToken ct, string? relativeTo = null)
    {
        var view = new ProgressView(context);
        string sizes = settings.Kind == LanguageModelKind.Gpt
            ? $"--batch-size {settings.BatchSize}, --block-size {settings.BlockSize}, --layers {settings.Layers}, --heads {settings.Heads}, --embedding-size {settings.EmbeddingSize}"
            : $"--batch-size {settings.BatchSize}, --block-size {settings.BlockSize}, --layers {settings.Layers}, --embedding-size {settings.EmbeddingSize}, --hidden-size {settings.HiddenSize}";
        var result = Translated(sizes, () => view.Run($"train {settings.Kind.ToString().ToLowerInvariant()}", settings.Iterations, report =>
            LanguageModelJob.Run(settings, new Reporter<Trainers.Language.LanguageModelTrainingProgress>(p => report(p.Iteration,
                Describe(p))), ct)));
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{settings.Kind}: {result.Parameters:N0} parameters, {result.Iterations} steps in {result.Elapsed.TotalSeconds:F1} s"));
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  train loss {result.TrainLoss:F3}, best validation loss {result.ValidationLoss:F3}"));
        if (result.Cancelled) context.Error.WriteLine($"Stopped by {context.Stop.Cause} after step {result.Iterations}; checkpoint/ and onnx/ hold the last completed step (continue with --resume).");
        context.Out.WriteLine($"checkpoint: {Shown(result.CheckpointFolder, relativeTo)}");
        if (result.OnnxFolder is not null) context.Out.WriteLine($"onnx:       {Shown(result.OnnxFolder, relativeTo)}");
        if (result.LossCurvePng is not null) context.Out.WriteLine($"loss curve: {Shown(result.LossCurvePng, relativeTo)}");
        return result;
    }

    /// <summary>Most steps a train verb accepts.</summary>
    internal const int MaxSteps = 100_000_000;

    /// <summary>Generator learning rate of `train gan` with the DCGAN when none is given (the quickstart's).</summary>
    internal const double DcganLearningRate = 6e-4;

    /// <summary>Rows of the MNIST training split.</summary>
    internal const int MnistTrainRows = 60_000;

    /// <summary>Most CPU threads a verb accepts.</summary>
    internal const int MaxThreads = 1024;

    // Option property names in the trainers' messages, and the flags a shell user typed for them.
    private static readonly (string Property, string Flag)[] s_flags =
    [
        ("MaxIterations", "--iterations"), ("BatchSize", "--batch-size"), ("BlockSize", "--block-size"), ("NumLayers", "--layers"), ("NumHeads", "--heads"),
        ("EmbeddingSize", "--embedding-size"), ("HiddenSize", "--hidden-size"), ("LearningRate", "--learning-rate"), ("EvalInterval", "--eval-interval"),
        ("MaxSteps", "--max-steps"), ("Epochs", "--epochs"), ("LatentSize", "--latent-size"), ("Threads", "--threads"), ("Seed", "--seed"),
    ];

    /// <summary>
    /// Runs a training job and reports its failures in the words of the command line: the trainers' option names become
    /// flags (exit 2), and a tensor too large for memory names the sizes that made it (exit 1) instead of libtorch's stack frames.
    /// </summary>
    internal static T Translated<T>(string sizes, Func<T> run)
    {
        try
        {
            return run();
        }
        catch (Exception e) when (e is not OperationCanceledException && FailureMessage.NativeAllocationBytes(FailureMessage.Cause(e)) is long bytes)
        {
            throw new CliException($"out of memory: libtorch could not allocate {FailureMessage.Size(bytes)} for one tensor with {sizes}; use smaller sizes.");
        }
        catch (ArgumentException e)
        {
            string message = FailureMessage.For(e);
            foreach (var (property, flag) in s_flags)
                message = System.Text.RegularExpressions.Regex.Replace(message, $@"\b(\w+Options\.|Gpt2Config\.)?{property}\b", flag);
            message = System.Text.RegularExpressions.Regex.Replace(message, @"\b(Gpt|Lstm|Gan|Vae)Trainer\b", "training");
            throw new CliException(message, ExitCodes.Usage);
        }
    }

    private static Command Image(CliContext context, ImageModelKind kind)
    {
        bool gan = kind == ImageModelKind.Gan;
        var command = new Command(gan ? "gan" : "vae", gan
            ? "Train a class-conditional GAN (MLP or DCGAN) on MNIST; writes model/ (ONNX), samples.png, loss-curve.png and checkpoint/."
            : "Train an MLP VAE on MNIST; writes model/ (ONNX encoder + decoder), samples.png, loss-curve.png and checkpoint/.");
        var output = new Option<string>("--out", "-o") { Description = "Output folder.", DefaultValueFactory = _ => Path.Combine("artifacts", gan ? "gan" : "vae") };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the rows.", DefaultValueFactory = _ => 1 }.InRange(1, 100_000);
        var maxSteps = new Option<long?>("--max-steps") { Description = "Stop after this many steps." }.InRange(1, MaxSteps);
        var rows = new Option<int>("--rows") { Description = "MNIST training rows (0 = all).", DefaultValueFactory = _ => 10_000 }.InRange(0, MnistTrainRows);
        var batch = new Option<int>("--batch-size") { Description = "Rows per step.", DefaultValueFactory = _ => gan ? 64 : 128 }.InRange(1, 4096);
        var latent = new Option<int?>("--latent-size") { Description = $"Latent size (default {(gan ? 100 : 20)})." }.InRange(1, 4096);
        var imageLr = new Option<double?>("--learning-rate") { Description = $"Adam learning rate (default {(gan ? "6e-4 for the DCGAN, whose discriminator learns at half of it; 2e-4 for the MLP" : "1e-3")})." }.Positive();
        var samples = new Option<int>("--samples") { Description = "Images in samples.png.", DefaultValueFactory = _ => 40 }.InRange(1, GenerateCommands.MaxImages);
        var resume = new Option<bool>("--resume") { Description = "Continue from <out>/checkpoint (written every 200 steps and on Ctrl+C or SIGTERM)." };
        var seed = new Option<int>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = all).", DefaultValueFactory = _ => 0 }.InRange(0, MaxThreads);
        var architecture = new Option<GanArchitecture>("--architecture") { Description = "GAN networks: Dcgan (convolutional, the default: recognisable digits in about a thousand steps) or Mlp (faster steps, weaker digits).", DefaultValueFactory = _ => GanArchitecture.Dcgan };
        var generatorChannels = new Option<int?>("--generator-channels") { Description = "DCGAN: channels of the generator's 7×7 map (default 128; 64 makes a step about a quarter shorter)." }.InRange(1, 4096);
        foreach (var o in new Option[] { output, epochs, maxSteps, rows, batch, latent, imageLr, samples, resume, seed, threads }) command.Add(o);
        if (gan)
        {
            command.Add(architecture);
            command.Add(generatorChannels);
        }
        command.SetAction((parse, ct) =>
        {
            var settings = new ImageModelJobSettings
            {
                Kind = kind, MnistFolder = DatasetPaths.MnistFolder, OutputFolder = parse.GetValue(output)!, Epochs = parse.GetValue(epochs),
                MaxSteps = parse.GetValue(maxSteps), MaxRows = parse.GetValue(rows), BatchSize = parse.GetValue(batch),
                LatentSize = parse.GetValue(latent), LearningRate = parse.GetValue(imageLr), SampleCount = parse.GetValue(samples), Resume = parse.GetValue(resume),
                Seed = parse.GetValue(seed), Threads = parse.GetValue(threads), Architecture = gan ? parse.GetValue(architecture) : GanArchitecture.Mlp,
            };
            if (gan && settings.Architecture == GanArchitecture.Dcgan)
            {
                settings.GeneratorChannels = parse.GetValue(generatorChannels);
                // The quickstart's recipe (docs/RESULTS.md): a projection discriminator learning at half the generator's
                // rate, one-sided label smoothing, and a generator rate of 6e-4 unless one is given.
                settings.DiscriminatorConditioning = DiscriminatorConditioning.Projection;
                settings.LearningRate ??= DcganLearningRate;
                settings.DiscriminatorLearningRate = settings.LearningRate / 2;
                settings.RealLabel = 0.9;
            }
            TrainImageModel(context, settings, ct);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>Runs an image-model job behind a progress bar and prints where the files are (relative to <paramref name="relativeTo"/> when given).</summary>
    internal static ImageModelJobResult TrainImageModel(CliContext context, ImageModelJobSettings settings, CancellationToken ct, string? relativeTo = null)
    {
        int rows = settings.MaxRows > 0 ? settings.MaxRows : 60_000;
        long total = settings.MaxSteps ?? (long)settings.Epochs * ((rows + settings.BatchSize - 1) / settings.BatchSize);
        var view = new ProgressView(context);
        ImageModelJobResult result;
        string sizes = $"--batch-size {settings.BatchSize}, --latent-size {settings.LatentSize?.ToString(CultureInfo.InvariantCulture) ?? "default"}";
        try
        {
            result = Translated(sizes, () => view.Run($"train {settings.Kind.ToString().ToLowerInvariant()}", total, report =>
                ImageModelJob.Run(settings, new Reporter<Trainers.Training.TrainingProgress>(p => report(p.Step,
                    string.Join(" ", p.Losses.Select(kv => FormattableString.Invariant($"{kv.Key} {kv.Value:F3}"))))), ct)));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            string checkpoint = Path.Combine(Path.GetFullPath(settings.OutputFolder), "checkpoint");
            string file = Path.Combine(checkpoint, ImageModelJob.CheckpointFile);
            string step = File.Exists(file) ? $" after step {TrainingCheckpointInfo.Read(file).Steps}" : "";
            context.Error.WriteLine($"Stopped by {context.Stop.Cause}{step}; checkpoint in {checkpoint} (continue with --resume).");
            throw;
        }
        var s = result.Summary;
        context.Out.WriteLine(FormattableString.Invariant($"{settings.Kind}: {s.Steps} steps in {s.Elapsed.TotalSeconds:F1} s"));
        context.Out.WriteLine("  final " + string.Join(", ", s.FinalLosses.Select(kv => FormattableString.Invariant($"{kv.Key} {kv.Value:F3}"))));
        context.Out.WriteLine($"model:      {Shown(result.ModelFolder, relativeTo)}");
        context.Out.WriteLine($"samples:    {Shown(result.SamplesPng, relativeTo)}");
        if (result.LossCurvePng is not null) context.Out.WriteLine($"loss curve: {Shown(result.LossCurvePng, relativeTo)}");
        return result;
    }

    private static string Shown(string path, string? relativeTo) => relativeTo is null ? path : Path.GetRelativePath(relativeTo, path);

    private static string Describe(Trainers.Language.LanguageModelTrainingProgress p) =>
        FormattableString.Invariant($"loss {p.TrainLoss:F3}") + (p.ValidationLoss is float v ? FormattableString.Invariant($" val {v:F3}") : "")
        + FormattableString.Invariant($" lr {p.LearningRate:G2}");
}

/// <summary>A synchronous IProgress (System.Progress would post to the thread pool).</summary>
internal sealed class Reporter<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
