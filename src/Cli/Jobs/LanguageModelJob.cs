using System.Text;
using System.Text.Json;
using Aigc.MLNet.Cli.Pictures;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Trainers;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;

namespace Aigc.MLNet.Cli.Jobs;

/// <summary>Which language model a <see cref="LanguageModelJob"/> trains.</summary>
public enum LanguageModelKind
{
    /// <summary>GPT-2-shaped transformer (exported to ONNX and served by the generation engine).</summary>
    Gpt,

    /// <summary>LSTM language model (exported to ONNX and served by the generation engine).</summary>
    Lstm,
}

/// <summary>Settings of a character-level language-model run.</summary>
public sealed class LanguageModelJobSettings
{
    /// <summary>Model kind.</summary>
    public LanguageModelKind Kind { get; set; } = LanguageModelKind.Gpt;
    /// <summary>Training text file (UTF-8).</summary>
    public string CorpusPath { get; set; } = "";
    /// <summary>Use only the first this many characters of the corpus (0 = all); the vocabulary is the characters of the text used.</summary>
    public int MaxChars { get; set; }
    /// <summary>Output folder: checkpoint/, onnx/, loss-curve.png.</summary>
    public string OutputFolder { get; set; } = "";
    /// <summary>Training steps.</summary>
    public int Iterations { get; set; } = 500;
    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; set; } = 12;
    /// <summary>Context length.</summary>
    public int BlockSize { get; set; } = 64;
    /// <summary>Transformer layers (GPT) or LSTM layers.</summary>
    public int Layers { get; set; } = 2;
    /// <summary>Attention heads (GPT).</summary>
    public int Heads { get; set; } = 4;
    /// <summary>Embedding size (GPT and LSTM).</summary>
    public int EmbeddingSize { get; set; } = 64;
    /// <summary>LSTM hidden size.</summary>
    public int HiddenSize { get; set; } = 128;
    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; set; } = 1e-3;
    /// <summary>Validation every this many steps.</summary>
    public int EvalInterval { get; set; } = 100;
    /// <summary>Seed.</summary>
    public int Seed { get; set; } = 1;
    /// <summary>TorchSharp threads (0 = default).</summary>
    public int Threads { get; set; }
    /// <summary>GPT: export the ONNX folder with weight-only quantization (null = fp32; the checkpoint stays fp32).</summary>
    public Aigc.MLNet.Onnx.Quantization.BlockQuantizationOptions? ExportQuantization { get; set; }
    /// <summary>Continue from the checkpoint in &lt;OutputFolder&gt;/checkpoint (same settings, more <see cref="Iterations"/>).</summary>
    public bool Resume { get; set; }
}

/// <summary>What a language-model run left behind.</summary>
public sealed class LanguageModelJobResult
{
    /// <summary>Steps completed (including steps before a resume).</summary>
    public int Iterations { get; init; }
    /// <summary>Last training loss (nats per character).</summary>
    public float TrainLoss { get; init; }
    /// <summary>Best validation loss, NaN when none was measured.</summary>
    public float ValidationLoss { get; init; }
    /// <summary>Wall time of training.</summary>
    public TimeSpan Elapsed { get; init; }
    /// <summary>Checkpoint folder (<c>checkpoint.bin</c>: model, optimizer and step; <see cref="LanguageModelJob.ManifestFile"/>: the settings).</summary>
    public required string CheckpointFolder { get; init; }
    /// <summary>ONNX folder (model + character vocabulary), ready for <c>aigc generate text</c>.</summary>
    public string? OnnxFolder { get; init; }
    /// <summary>Loss-curve PNG.</summary>
    public string? LossCurvePng { get; init; }
    /// <summary>True when Ctrl+C stopped the run early (checkpoint and ONNX folder hold the last completed step).</summary>
    public bool Cancelled { get; init; }
    /// <summary>Parameter count.</summary>
    public long Parameters { get; init; }
}

/// <summary>
/// Trains a character-level GPT or LSTM on a text file with the ML.NET estimators
/// (<c>mlContext.Generative().Trainers.Gpt/Lstm</c>): progress through their <see cref="IProgress{T}"/>, cancellation
/// through their token (stopping at a step boundary with a checkpoint and the ONNX export of the last completed step),
/// checkpoints with exact resume, export to an ONNX folder; then draws the loss curve.
/// </summary>
public static class LanguageModelJob
{
    /// <summary>File name of the run description inside the checkpoint folder.</summary>
    public const string ManifestFile = "aigc-lm.json";

    /// <summary>The estimators' checkpoint file (model, optimizer and step) inside the checkpoint folder.</summary>
    public const string CheckpointFile = "checkpoint.bin";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Runs the job.</summary>
    /// <param name="settings">Settings.</param>
    /// <param name="progress">Receives progress reports (every 10 steps and at validations).</param>
    /// <param name="cancellationToken">Stops at a step boundary.</param>
    public static LanguageModelJobResult Run(LanguageModelJobSettings settings, IProgress<LanguageModelTrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (Directory.Exists(settings.CorpusPath)) throw new CliException($"--data: '{settings.CorpusPath}' is a directory; give a UTF-8 text file.", ExitCodes.Usage);
        if (!File.Exists(settings.CorpusPath)) throw new FileNotFoundException($"Corpus file '{settings.CorpusPath}' was not found.", settings.CorpusPath);
        if (string.IsNullOrWhiteSpace(settings.OutputFolder)) throw new ArgumentException("The output folder is empty.", nameof(settings));
        if (!double.IsFinite(settings.LearningRate) || settings.LearningRate <= 0)
            throw new CliException($"--learning-rate must be a finite number greater than 0, got {settings.LearningRate}.", ExitCodes.Usage);
        if (settings.MaxChars < 0) throw new CliException($"--max-chars must be 0 (all) or more, got {settings.MaxChars}.", ExitCodes.Usage);
        string folder = Path.GetFullPath(settings.OutputFolder);
        string checkpoint = Path.Combine(folder, "checkpoint");
        string onnx = Path.Combine(folder, "onnx");
        string text = ReadCorpus(settings);
        CheckMemory(settings, text);
        var manifest = new LanguageModelManifest
        {
            Settings = Copy(settings), CorpusPath = Path.GetFullPath(settings.CorpusPath), CorpusSha256 = Sha256(text),
        };
        manifest.Settings.CorpusPath = manifest.CorpusPath;
        manifest.Settings.OutputFolder = folder;
        if (settings.Resume) CheckResume(settings, checkpoint, manifest);

        string manifestPath = Path.Combine(checkpoint, ManifestFile), checkpointPath = Path.Combine(checkpoint, CheckpointFile);
        var created = NewFolders.Track(folder, checkpoint, onnx);
        byte[]? previousManifest = File.Exists(manifestPath) ? File.ReadAllBytes(manifestPath) : null;
        DateTime? previousCheckpoint = File.Exists(checkpointPath) ? File.GetLastWriteTimeUtc(checkpointPath) : null;
        Directory.CreateDirectory(checkpoint);
        AtomicFile.WriteAllText(manifestPath, JsonSerializer.Serialize(manifest, Indented));
        try
        {
            return Train(settings, progress, cancellationToken, folder, checkpoint, onnx, text);
        }
        catch (Exception e) when (!(cancellationToken.IsCancellationRequested && e is OperationCanceledException))
        {
            // A run that failed before writing a checkpoint leaves the folders as they were: new ones removed, an
            // older run's manifest put back beside its (untouched) checkpoint.
            DateTime? now = File.Exists(checkpointPath) ? File.GetLastWriteTimeUtc(checkpointPath) : null;
            if (now == previousCheckpoint)
            {
                if (previousManifest is null) TryDelete(manifestPath);
                else AtomicFile.Write(manifestPath, s => s.Write(previousManifest));
                created.Remove();
            }
            throw;
        }
    }

    private static LanguageModelJobResult Train(LanguageModelJobSettings settings, IProgress<LanguageModelTrainingProgress>? progress,
        CancellationToken cancellationToken, string folder, string checkpoint, string onnx, string text)
    {
        var curve = new Dictionary<string, List<(double, double)>> { ["train"] = [], ["validation"] = [] };
        int lastStep = 0;
        float lastLoss = float.NaN, bestValidation = float.NaN;
        var recorder = new Progress(p =>
        {
            lastStep = p.Iteration;
            lastLoss = p.TrainLoss;
            curve["train"].Add((p.Iteration, p.TrainLoss));
            if (p.ValidationLoss is float v)
            {
                curve["validation"].Add((p.Iteration, v));
                if (float.IsNaN(bestValidation) || v < bestValidation) bestValidation = v;
            }
            progress?.Report(p);
        });

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (trainer, options) = CreateTrainer(settings, checkpoint, onnx, settings.Resume);
        options.Progress = recorder;
        options.CancellationToken = cancellationToken;
        bool cancelled = false;
        try
        {
            trainer.Fit(SingleRow(text));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
            // Progress comes every few steps; the checkpoint written on the way out knows the last completed one.
            string file = Path.Combine(checkpoint, CheckpointFile);
            if (File.Exists(file)) lastStep = (int)TrainingCheckpointInfo.Read(file).Steps;
        }
        string? png = null;
        if (curve["train"].Count > 0)
            png = LossCurve.SavePng(Path.Combine(folder, "loss-curve.png"), $"char {settings.Kind.ToString().ToUpperInvariant()} on {Path.GetFileName(settings.CorpusPath)}", curve);
        var (last, parameters) = trainer switch
        {
            GptTrainer g => (g.LastResult, g.LastParameterCount),
            LstmTrainer l => (l.LastResult, l.LastParameterCount),
            _ => throw new InvalidOperationException("unknown trainer"),
        };
        return new LanguageModelJobResult
        {
            Iterations = cancelled ? lastStep : last?.Iterations ?? lastStep, TrainLoss = last?.FinalTrainLoss ?? lastLoss, ValidationLoss = bestValidation, Elapsed = clock.Elapsed,
            CheckpointFolder = checkpoint, OnnxFolder = Directory.Exists(onnx) ? onnx : null, LossCurvePng = png, Cancelled = cancelled,
            Parameters = parameters ?? 0,
        };
    }

    /// <summary>
    /// Exports the checkpoint folder of a run (written by <see cref="Run"/>) to an ONNX folder: the run's estimator resumes
    /// from <c>checkpoint.bin</c> with no steps left and exports what it loaded. The training text must still be where
    /// the run read it (its characters are the vocabulary).
    /// </summary>
    /// <param name="checkpointFolder">The checkpoint folder.</param>
    /// <param name="outputFolder">The ONNX folder to write.</param>
    /// <returns>The full path of the ONNX folder.</returns>
    public static string ExportOnnx(string checkpointFolder, string outputFolder)
    {
        if (!Directory.Exists(checkpointFolder))
            throw new CliException($"--checkpoint: '{checkpointFolder}' does not exist (expected the checkpoint/ folder of an 'aigc train gpt|lstm' run, holding {ManifestFile} and {CheckpointFile}).");
        string manifestPath = Path.Combine(checkpointFolder, ManifestFile);
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"'{checkpointFolder}' is not a checkpoint folder written by 'aigc train gpt|lstm' ({ManifestFile} is missing).", manifestPath);
        var manifest = ReadManifest(manifestPath);
        if (!File.Exists(Path.Combine(checkpointFolder, CheckpointFile)))
            throw new FileNotFoundException($"'{checkpointFolder}' has no {CheckpointFile}: the run stopped before its first checkpoint.");
        if (!File.Exists(manifest.CorpusPath))
            throw new FileNotFoundException($"The run's training text '{manifest.CorpusPath}' (its vocabulary) was not found.", manifest.CorpusPath);
        var settings = manifest.Settings!;
        var (trainer, _) = CreateTrainer(settings, Path.GetFullPath(checkpointFolder), Path.GetFullPath(outputFolder), resume: true, exportOnly: true);
        trainer.Fit(SingleRow(ReadCorpus(settings)));
        return Path.GetFullPath(outputFolder);
    }

    /// <summary>Reads a run's <see cref="ManifestFile"/>; a damaged file is reported with its path.</summary>
    /// <exception cref="InvalidDataException">The file is not a manifest written by <see cref="Run"/>.</exception>
    public static LanguageModelManifest ReadManifest(string manifestPath)
    {
        LanguageModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<LanguageModelManifest>(File.ReadAllBytes(manifestPath));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{manifestPath}' is damaged: it is not the run description 'aigc train gpt|lstm' writes ({e.Message.Split('\n')[0]})", e);
        }
        if (manifest is null) throw new InvalidDataException($"'{manifestPath}' is empty.");
        if (manifest.Settings is null) throw new InvalidDataException($"'{manifestPath}' has no settings; it was written by an older aigc.");
        return manifest;
    }

    /// <summary>
    /// Fails, before anything is written, when <c>--resume</c> cannot continue the run in <paramref name="checkpoint"/>:
    /// no checkpoint to resume, settings or training text that differ from the run's, or no step left to train.
    /// </summary>
    private static void CheckResume(LanguageModelJobSettings settings, string checkpoint, LanguageModelManifest now)
    {
        string file = Path.Combine(checkpoint, CheckpointFile);
        if (!File.Exists(file))
            throw new CliException($"--resume: there is no checkpoint to continue from ('{file}' does not exist); leave out --resume to start a new run.");
        string manifestPath = Path.Combine(checkpoint, ManifestFile);
        if (File.Exists(manifestPath))
        {
            var then = ReadManifest(manifestPath);
            var was = then.Settings!;
            var differing = new (string Flag, object? Then, object? Now)[]
            {
                ("train", was.Kind.ToString().ToLowerInvariant(), settings.Kind.ToString().ToLowerInvariant()),
                ("--data", then.CorpusPath, now.CorpusPath), ("--max-chars", was.MaxChars, settings.MaxChars),
                ("--batch-size", was.BatchSize, settings.BatchSize), ("--block-size", was.BlockSize, settings.BlockSize),
                ("--layers", was.Layers, settings.Layers), ("--heads", was.Heads, settings.Heads), ("--embedding-size", was.EmbeddingSize, settings.EmbeddingSize),
                ("--hidden-size", was.HiddenSize, settings.HiddenSize), ("--learning-rate", was.LearningRate, settings.LearningRate), ("--seed", was.Seed, settings.Seed),
            }.Where(d => !Equals(d.Then, d.Now)).ToArray();
            if (differing.Length > 0)
            {
                string list = string.Join(", ", differing.Select(d => d.Flag == "train" ? $"'train {d.Then}' (not 'train {d.Now}')" : $"{d.Flag} {Shown(d.Then)} (not {Shown(d.Now)})"));
                throw new CliException($"--resume: the checkpoint in '{checkpoint}' was trained with {list}; resume with the same settings, or train into a new --out.", ExitCodes.Usage);
            }
            if (then.CorpusSha256 is { } hash && hash != now.CorpusSha256)
                throw new CliException($"--resume: the training text '{now.CorpusPath}' changed since the checkpoint in '{checkpoint}' was written (its SHA-256 differs); resuming would continue on different data.", ExitCodes.Usage);
            now.CorpusSha256 = then.CorpusSha256;
        }
        var info = TrainingCheckpointInfo.Read(file);
        if (settings.Iterations <= info.Steps)
            throw new CliException($"--iterations {settings.Iterations} is not above the checkpoint's step {info.Steps} ('{file}'): nothing is left to train. Pass --iterations {info.Steps + 1} or more, or export the checkpoint as it is with 'aigc export onnx'.", ExitCodes.Usage);
    }

    private static string Shown(object? value) => value switch
    {
        string s => $"'{s}'",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>
    /// Fails up front when the model's weights, gradients and Adam moments (16 bytes per parameter) alone exceed this
    /// machine's memory; activations come on top, and a single tensor too large for libtorch is reported when it fails.
    /// </summary>
    private static void CheckMemory(LanguageModelJobSettings s, string text)
    {
        long vocab = text.Distinct().LongCount() + 1;
        double e = s.EmbeddingSize, l = s.Layers, h = s.HiddenSize;
        double parameters = s.Kind == LanguageModelKind.Gpt
            ? vocab * e + s.BlockSize * e + l * (12 * e * e + 13 * e) + 2 * e
            : vocab * e + 4 * h * (e + h) + (l - 1) * 4 * h * (2 * h) + 8 * h * l + h * vocab + vocab;
        double needed = parameters * 16;
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0 && needed > available)
        {
            string sizes = s.Kind == LanguageModelKind.Gpt
                ? $"--layers {s.Layers}, --embedding-size {s.EmbeddingSize}"
                : $"--layers {s.Layers}, --embedding-size {s.EmbeddingSize}, --hidden-size {s.HiddenSize}";
            throw new CliException(
                $"{sizes} make a model of {parameters:N0} parameters; training it needs {FailureMessage.Size((long)Math.Min(needed, long.MaxValue))} for weights, gradients and Adam state alone, " +
                $"more than this machine's {FailureMessage.Size(available)} of memory. Use smaller sizes.", ExitCodes.Usage);
        }
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string ReadCorpus(LanguageModelJobSettings settings)
    {
        string text = File.ReadAllText(settings.CorpusPath, Encoding.UTF8);
        if (settings.MaxChars > 0 && text.Length > settings.MaxChars) text = text[..settings.MaxChars];
        return text;
    }

    private static (IEstimator<GenerateTextTransformer> Trainer, LanguageModelTrainerOptions Options) CreateTrainer(LanguageModelJobSettings s, string checkpoint, string onnx, bool resume, bool exportOnly = false)
    {
        var ml = new MLContext(seed: s.Seed);
        LanguageModelTrainerOptions options = s.Kind == LanguageModelKind.Gpt
            ? new GptTrainerOptions { NumLayers = s.Layers, NumHeads = s.Heads, EmbeddingSize = s.EmbeddingSize, ExportQuantization = s.ExportQuantization }
            : new LstmTrainerOptions { NumLayers = s.Layers, EmbeddingSize = s.EmbeddingSize, HiddenSize = s.HiddenSize };
        int evalInterval = Math.Max(1, Math.Min(s.EvalInterval, s.Iterations));
        options.TextColumnName = "Text";
        options.OutputFolder = onnx;
        options.BlockSize = s.BlockSize;
        options.BatchSize = s.BatchSize;
        // Exporting resumes the checkpoint with no step left to run (its step count is at least 1).
        options.MaxIterations = exportOnly ? 1 : s.Iterations;
        options.LearningRate = s.LearningRate;
        options.MinLearningRate = s.LearningRate / 10;
        options.WarmupIterations = Math.Min(100, s.Iterations / 10);
        options.ValidationFraction = 0.1;
        options.EvalInterval = evalInterval;
        options.EvalIterations = 10;
        options.Seed = s.Seed;
        options.Threads = s.Threads;
        options.CheckpointFolder = checkpoint;
        options.CheckpointEveryNSteps = exportOnly ? 0 : evalInterval;
        options.Resume = resume;
        options.ExportOnCancellation = true;
        IEstimator<GenerateTextTransformer> trainer = options is GptTrainerOptions gpt
            ? ml.Generative().Trainers.Gpt(gpt)
            : ml.Generative().Trainers.Lstm((LstmTrainerOptions)options);
        return (trainer, options);
    }

    private static IDataView SingleRow(string text) =>
        new MLContext().Data.LoadFromEnumerable(new[] { new TextRow { Text = text } });

    private static LanguageModelJobSettings Copy(LanguageModelJobSettings s) =>
        JsonSerializer.Deserialize<LanguageModelJobSettings>(JsonSerializer.Serialize(s))!;

    private sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    private sealed class Progress(Action<LanguageModelTrainingProgress> report) : IProgress<LanguageModelTrainingProgress>
    {
        // Synchronous on purpose: System.Progress would post to the thread pool and reorder reports.
        public void Report(LanguageModelTrainingProgress value) => report(value);
    }
}

/// <summary>The run description stored in a language-model checkpoint folder: what <c>aigc export onnx</c> needs to rebuild the estimator.</summary>
public sealed class LanguageModelManifest
{
    /// <summary>Full path of the training text (its characters are the vocabulary).</summary>
    public string CorpusPath { get; set; } = "";
    /// <summary>SHA-256 of the text the run trained on (after <see cref="LanguageModelJobSettings.MaxChars"/>), checked on resume; null in manifests of older runs.</summary>
    public string? CorpusSha256 { get; set; }
    /// <summary>The run's settings.</summary>
    public LanguageModelJobSettings? Settings { get; set; }
}
