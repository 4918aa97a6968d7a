using System.Text;
using System.Text.Json;
using Aigc.MLNet.Cli.Pictures;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Trainers;
using Aigc.MLNet.Trainers.Language;
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
        if (!File.Exists(settings.CorpusPath)) throw new FileNotFoundException($"Corpus file '{settings.CorpusPath}' was not found.", settings.CorpusPath);
        if (string.IsNullOrWhiteSpace(settings.OutputFolder)) throw new ArgumentException("The output folder is empty.", nameof(settings));
        string folder = Path.GetFullPath(settings.OutputFolder);
        string checkpoint = Path.Combine(folder, "checkpoint");
        string onnx = Path.Combine(folder, "onnx");
        string text = ReadCorpus(settings);
        Directory.CreateDirectory(checkpoint);
        var manifest = new LanguageModelManifest { Settings = Copy(settings), CorpusPath = Path.GetFullPath(settings.CorpusPath) };
        manifest.Settings.CorpusPath = manifest.CorpusPath;
        manifest.Settings.OutputFolder = folder;
        AtomicFile.WriteAllText(Path.Combine(checkpoint, ManifestFile), JsonSerializer.Serialize(manifest, Indented));

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
            Iterations = last?.Iterations ?? lastStep, TrainLoss = last?.FinalTrainLoss ?? lastLoss, ValidationLoss = bestValidation, Elapsed = clock.Elapsed,
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
        string manifestPath = Path.Combine(checkpointFolder, ManifestFile);
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"'{checkpointFolder}' is not a checkpoint folder written by 'aigc train gpt|lstm' ({ManifestFile} is missing).", manifestPath);
        var manifest = JsonSerializer.Deserialize<LanguageModelManifest>(File.ReadAllText(manifestPath))
            ?? throw new InvalidDataException($"'{manifestPath}' is empty.");
        if (manifest.Settings is null) throw new InvalidDataException($"'{manifestPath}' has no settings; it was written by an older aigc.");
        if (!File.Exists(Path.Combine(checkpointFolder, CheckpointFile)))
            throw new FileNotFoundException($"'{checkpointFolder}' has no {CheckpointFile}: the run stopped before its first checkpoint.");
        if (!File.Exists(manifest.CorpusPath))
            throw new FileNotFoundException($"The run's training text '{manifest.CorpusPath}' (its vocabulary) was not found.", manifest.CorpusPath);
        var settings = manifest.Settings;
        var (trainer, _) = CreateTrainer(settings, Path.GetFullPath(checkpointFolder), Path.GetFullPath(outputFolder), resume: true, exportOnly: true);
        trainer.Fit(SingleRow(ReadCorpus(settings)));
        return Path.GetFullPath(outputFolder);
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
    /// <summary>The run's settings.</summary>
    public LanguageModelJobSettings? Settings { get; set; }
}
