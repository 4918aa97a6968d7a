using System.Text;
using System.Text.Json;
using Aigc.MLNet.Cli.Pictures;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Trainers.Language;
using TorchSharp;

namespace Aigc.MLNet.Cli.Jobs;

/// <summary>Which language model a <see cref="LanguageModelJob"/> trains.</summary>
public enum LanguageModelKind
{
    /// <summary>GPT-2-shaped transformer (exported to ONNX and served by the generation engine).</summary>
    Gpt,

    /// <summary>LSTM language model (TorchSharp checkpoint only).</summary>
    Lstm,
}

/// <summary>Settings of a character-level language-model run.</summary>
public sealed class LanguageModelJobSettings
{
    /// <summary>Model kind.</summary>
    public LanguageModelKind Kind { get; set; } = LanguageModelKind.Gpt;
    /// <summary>Training text file (UTF-8).</summary>
    public string CorpusPath { get; set; } = "";
    /// <summary>Use only the first this many characters of the corpus (0 = all).</summary>
    public int MaxChars { get; set; }
    /// <summary>Output folder: checkpoint/, onnx/ (GPT), loss-curve.png.</summary>
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
}

/// <summary>What a language-model run left behind.</summary>
public sealed class LanguageModelJobResult
{
    /// <summary>Steps completed.</summary>
    public int Iterations { get; init; }
    /// <summary>Last training loss (nats per character).</summary>
    public float TrainLoss { get; init; }
    /// <summary>Best validation loss, NaN when none was measured.</summary>
    public float ValidationLoss { get; init; }
    /// <summary>Wall time of training.</summary>
    public TimeSpan Elapsed { get; init; }
    /// <summary>Checkpoint folder (config + weights + vocabulary).</summary>
    public required string CheckpointFolder { get; init; }
    /// <summary>ONNX folder (GPT only).</summary>
    public string? OnnxFolder { get; init; }
    /// <summary>Loss-curve PNG.</summary>
    public string? LossCurvePng { get; init; }
    /// <summary>True when Ctrl+C stopped the run early (the files still hold the last completed step).</summary>
    public bool Cancelled { get; init; }
    /// <summary>Parameter count.</summary>
    public long Parameters { get; init; }
}

/// <summary>
/// Trains a character-level GPT or LSTM on a text file with <see cref="LanguageModelTraining"/>, writes a checkpoint,
/// exports a GPT to an ONNX folder (with its character vocabulary) and draws the loss curve. Cancellation stops at a
/// step boundary and still writes the checkpoint of the last completed step.
/// </summary>
public static class LanguageModelJob
{
    /// <summary>File name of the run description inside the checkpoint folder.</summary>
    public const string ManifestFile = "aigc-lm.json";

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
        string text = File.ReadAllText(settings.CorpusPath, Encoding.UTF8);
        // The vocabulary covers the whole file so held-out text of the same file always tokenizes.
        var vocabulary = Gpt2TokenizerFiles.CharacterLevelFromText(text);
        if (settings.MaxChars > 0 && text.Length > settings.MaxChars) text = text[..settings.MaxChars];
        var chars = vocabulary.Characters!;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < chars.Count; i++) index[chars[i]] = i;
        var ids = new List<long>(text.Length);
        foreach (Rune r in text.EnumerateRunes()) ids.Add(index[r.ToString()]);
        int split = (int)(ids.Count * 0.9);
        long[] train = ids.Take(split).ToArray(), validation = ids.Skip(split).ToArray();
        if (validation.Length <= settings.BlockSize + 1)
            throw new ArgumentException($"The corpus is too short: {ids.Count} characters leave {validation.Length} for validation, which needs more than --block-size ({settings.BlockSize}).");

        if (settings.Threads > 0) torch.set_num_threads(settings.Threads);
        torch.manual_seed(settings.Seed);
        // One extra id past the characters serves as BOS/EOS: a character model must not stop at a newline.
        var config = new Gpt2Config
        {
            NumLayers = settings.Layers, NumHeads = settings.Heads, EmbeddingSize = settings.EmbeddingSize, MaxPositions = settings.BlockSize,
            VocabSize = chars.Count + 1, BosTokenId = chars.Count, EosTokenId = chars.Count,
        };
        var trainingSettings = new LanguageModelTrainingSettings
        {
            BatchSize = settings.BatchSize, BlockSize = settings.BlockSize, MaxIterations = settings.Iterations,
            Schedule = new WarmupCosineSchedule(settings.LearningRate, settings.LearningRate / 10, Math.Min(100, settings.Iterations / 10), settings.Iterations),
            EvalInterval = Math.Max(1, Math.Min(settings.EvalInterval, settings.Iterations)), EvalIterations = 10, Seed = settings.Seed,
        };
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

        string folder = Path.GetFullPath(settings.OutputFolder);
        string checkpoint = Path.Combine(folder, "checkpoint");
        bool cancelled = false;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long parameters;
        string? onnx = null;
        if (settings.Kind == LanguageModelKind.Gpt)
        {
            using var model = new GptModel(config);
            parameters = model.parameters().Sum(p => p.numel());
            cancelled = Train(model, train, validation, trainingSettings, recorder, cancellationToken);
            var weights = model.ToGpt2Weights();
            WriteManifest(checkpoint, settings, chars, config);
            Gpt2Checkpoint.SaveSafeTensors(weights, Path.Combine(checkpoint, "model.safetensors"));
            config.Save(Path.Combine(checkpoint, "config.json"));
            onnx = Path.Combine(folder, "onnx");
            Gpt2Exporter.Export(weights, vocabulary, onnx);
        }
        else
        {
            using var model = new LstmLanguageModel(config.VocabSize, settings.EmbeddingSize, settings.HiddenSize, settings.Layers);
            parameters = model.parameters().Sum(p => p.numel());
            cancelled = Train(model, train, validation, trainingSettings, recorder, cancellationToken);
            WriteManifest(checkpoint, settings, chars, config);
            string weightsPath = Path.Combine(checkpoint, "lstm.dat");
            string tmp = weightsPath + ".tmp";
            model.save(tmp);
            File.Move(tmp, weightsPath, overwrite: true);
        }
        string? png = null;
        if (curve["train"].Count > 0)
            png = LossCurve.SavePng(Path.Combine(folder, "loss-curve.png"), $"char {settings.Kind.ToString().ToUpperInvariant()} on {Path.GetFileName(settings.CorpusPath)}", curve);
        return new LanguageModelJobResult
        {
            Iterations = lastStep, TrainLoss = lastLoss, ValidationLoss = bestValidation, Elapsed = clock.Elapsed, CheckpointFolder = checkpoint,
            OnnxFolder = onnx, LossCurvePng = png, Cancelled = cancelled, Parameters = parameters,
        };
    }

    private static bool Train<TModel>(TModel model, long[] train, long[] validation, LanguageModelTrainingSettings settings,
        IProgress<LanguageModelTrainingProgress> progress, CancellationToken cancellationToken)
        where TModel : torch.nn.Module<torch.Tensor, torch.Tensor>, ICausalLanguageModel
    {
        try
        {
            LanguageModelTraining.Run(model, train, validation, settings, progress, cancellationToken);
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            model.eval();
            return true;
        }
    }

    private static void WriteManifest(string checkpoint, LanguageModelJobSettings s, IReadOnlyList<string> chars, Gpt2Config config)
    {
        Directory.CreateDirectory(checkpoint);
        var manifest = new LanguageModelManifest
        {
            Kind = s.Kind.ToString().ToLowerInvariant(), Characters = chars.ToArray(), Layers = s.Layers, Heads = s.Heads, EmbeddingSize = s.EmbeddingSize,
            HiddenSize = s.HiddenSize, BlockSize = s.BlockSize, VocabSize = config.VocabSize,
        };
        AtomicFile.WriteAllText(Path.Combine(checkpoint, ManifestFile), JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Exports a GPT checkpoint folder written by <see cref="Run"/> to an ONNX folder.</summary>
    /// <param name="checkpointFolder">The checkpoint folder.</param>
    /// <param name="outputFolder">The ONNX folder to write.</param>
    /// <param name="layout">ONNX layout.</param>
    public static string ExportOnnx(string checkpointFolder, string outputFolder, Gpt2OnnxLayout layout = Gpt2OnnxLayout.Optimum)
    {
        string manifestPath = Path.Combine(checkpointFolder, ManifestFile);
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"'{checkpointFolder}' is not a checkpoint written by 'aigc train gpt' ({ManifestFile} is missing).", manifestPath);
        var manifest = JsonSerializer.Deserialize<LanguageModelManifest>(File.ReadAllText(manifestPath))
            ?? throw new InvalidDataException($"'{manifestPath}' is empty.");
        if (manifest.Kind != "gpt")
            throw new NotSupportedException($"'{checkpointFolder}' holds a {manifest.Kind} model; only GPT checkpoints export to ONNX.");
        var config = Gpt2Config.Load(Path.Combine(checkpointFolder, "config.json"));
        var weights = Gpt2Checkpoint.LoadWeights(Path.Combine(checkpointFolder, "model.safetensors"), config);
        Gpt2Exporter.Export(weights, Gpt2TokenizerFiles.CharacterLevel(manifest.Characters), outputFolder, new Gpt2ExportOptions { Layout = layout });
        return Path.GetFullPath(outputFolder);
    }

    private sealed class Progress(Action<LanguageModelTrainingProgress> report) : IProgress<LanguageModelTrainingProgress>
    {
        // Synchronous on purpose: System.Progress would post to the thread pool and reorder reports.
        public void Report(LanguageModelTrainingProgress value) => report(value);
    }
}

/// <summary>The run description stored beside a language-model checkpoint.</summary>
public sealed class LanguageModelManifest
{
    /// <summary>"gpt" or "lstm".</summary>
    public string Kind { get; set; } = "";
    /// <summary>Character vocabulary in id order.</summary>
    public string[] Characters { get; set; } = [];
    /// <summary>Layers.</summary>
    public int Layers { get; set; }
    /// <summary>Heads.</summary>
    public int Heads { get; set; }
    /// <summary>Embedding size.</summary>
    public int EmbeddingSize { get; set; }
    /// <summary>LSTM hidden size.</summary>
    public int HiddenSize { get; set; }
    /// <summary>Context length.</summary>
    public int BlockSize { get; set; }
    /// <summary>Vocabulary size of the model (characters + 1 for BOS/EOS).</summary>
    public int VocabSize { get; set; }
}
