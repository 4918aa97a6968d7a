using System.Text;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Tokenizers;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>
/// Trains a GPT (GPT-2's architecture) on a text column with TorchSharp, exports it to an ONNX model folder and returns a
/// <see cref="GenerateTextTransformer"/> that serves it through ONNX Runtime.
/// </summary>
/// <remarks>
/// | Column | Type | Used for |
/// | --- | --- | --- |
/// | <see cref="GptTrainerOptions.TextColumnName"/> (training data) | String | rows joined with '\n' into one token stream |
/// | <see cref="GptTrainerOptions.PromptColumnName"/> (data given to the fitted transformer) | String | prompts |
/// | <see cref="GptTrainerOptions.CompletionColumnName"/> (added by the fitted transformer) | String | completions |
/// Training: random windows of <see cref="GptTrainerOptions.BlockSize"/> tokens, AdamW, warm-up + cosine schedule,
/// gradient clipping, validation every <see cref="GptTrainerOptions.EvalInterval"/> steps (the last
/// <see cref="GptTrainerOptions.ValidationFraction"/> of the stream, or a validation IDataView), optional early
/// stopping, checkpoints with exact resume. Fine-tuning starts from a GPT-2 safetensors checkpoint.
/// </remarks>
public sealed class GptTrainer : IEstimator<GenerateTextTransformer>
{
    /// <summary>The end-of-text character added to character vocabularies (ASCII ETX); it never occurs in ordinary text.</summary>
    public const string EndOfTextCharacter = "\u0003";

    private readonly MLContext _mlContext;

    internal GptTrainer(MLContext mlContext, GptTrainerOptions options)
    {
        _mlContext = mlContext;
        Options = options;
        Validate(options);
    }

    /// <summary>The options.</summary>
    public GptTrainerOptions Options { get; }

    /// <summary>Losses and steps of the last <see cref="Fit(IDataView)"/>, or null before the first.</summary>
    public LanguageModelTrainingResult? LastResult { get; private set; }

    /// <summary>Trains on <paramref name="input"/> (validation: its last <see cref="GptTrainerOptions.ValidationFraction"/>), exports, and returns the GenerateText transformer.</summary>
    /// <param name="input">Training data with the text column.</param>
    public GenerateTextTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="input"/>, validates on <paramref name="validation"/>, exports, and returns the GenerateText transformer.</summary>
    /// <param name="input">Training data with the text column.</param>
    /// <param name="validation">Validation data with the same text column, or null to hold out the end of the training stream.</param>
    public GenerateTextTransformer Fit(IDataView input, IDataView? validation)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = Options;
        var channel = ((IChannelProvider)_mlContext).Start(nameof(GptTrainer));
        string text = ReadText(input, o.TextColumnName, "training data");
        string? validationText = validation is null ? null : ReadText(validation, o.TextColumnName, "validation data");

        Gpt2Weights? initial = o.InitialCheckpoint is null ? null : Gpt2Checkpoint.LoadWeights(o.InitialCheckpoint);
        var (tokenizer, files, eosId) = CreateTokenizer(o, initial is null ? text : null);
        long[] ids = Encode(tokenizer, text, "training data");
        long[] train = ids, valid;
        if (validationText is not null)
        {
            valid = Encode(tokenizer, validationText, "validation data");
        }
        else
        {
            int held = (int)(ids.Length * o.ValidationFraction);
            train = ids[..(ids.Length - held)];
            valid = ids[(ids.Length - held)..];
        }
        if (train.Length <= o.BlockSize)
            throw new ArgumentException($"The training text has {train.Length} tokens after the validation split; GptTrainer needs more than BlockSize ({o.BlockSize}).", nameof(input));
        if (valid.Length > 0 && valid.Length <= o.BlockSize)
            throw new ArgumentException($"The validation text has {valid.Length} tokens; it needs more than BlockSize ({o.BlockSize}). Raise ValidationFraction, give more text, or set it to 0.", nameof(validation));

        var device = TrainingDevice.Resolve(o.Device);
        if (o.Threads > 0)
            torch.set_num_threads(o.Threads);
        var config = initial?.Config ?? new Gpt2Config
        {
            NumLayers = o.NumLayers, NumHeads = o.NumHeads, EmbeddingSize = o.EmbeddingSize, MaxPositions = o.BlockSize,
            VocabSize = files.Count(), BosTokenId = eosId, EosTokenId = eosId,
        };
        if (o.BlockSize > config.MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(o.BlockSize), o.BlockSize, $"GptTrainerOptions.BlockSize ({o.BlockSize}) exceeds the checkpoint's context ({config.MaxPositions}).");

        torch.manual_seed(o.Seed);
        using var model = new GptModel(config, o.Dropout);
        if (initial is not null)
            model.Load(initial);
        model.to(device);
        channel.Info(MessageSensitivity.None, "{0}", $"GptTrainer: {model.Architecture}, {train.Length:N0} training and {valid.Length:N0} validation tokens.");

        var settings = new LanguageModelTrainingSettings
        {
            BatchSize = o.BatchSize, BlockSize = o.BlockSize, MaxIterations = o.MaxIterations,
            Schedule = new WarmupCosineSchedule(o.LearningRate, o.MinLearningRate, o.WarmupIterations, Math.Max(o.WarmupIterations, o.MaxIterations)),
            WeightDecay = o.WeightDecay, Beta2 = o.Beta2, GradientClip = o.GradientClip,
            EvalInterval = valid.Length > 0 ? o.EvalInterval : 0, EvalIterations = o.EvalIterations, EarlyStoppingPatience = o.EarlyStoppingPatience,
            Seed = o.Seed, CheckpointFolder = o.CheckpointFolder, CheckpointEveryNSteps = o.CheckpointEveryNSteps, Resume = o.Resume,
        };
        var progress = new ChannelProgress(channel, o.Progress);
        LastResult = LanguageModelTraining.Run(model, train, valid.Length > 0 ? valid : null, settings, progress, o.CancellationToken);

        Gpt2Exporter.Export(model.ToGpt2Weights(), files, o.OutputFolder);
        channel.Info(MessageSensitivity.None, "{0}", $"GptTrainer: exported to '{o.OutputFolder}'.");
        channel.Dispose();
        return ServeFolder(o.OutputFolder, o.PromptColumnName, o.CompletionColumnName, o.Generation);
    }

    /// <summary>Checks the text column; the fitted transformer applies to prompt data, so the schema is returned unchanged.</summary>
    /// <param name="inputSchema">Schema of the training data.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var found = inputSchema.Where(c => c.Name == Options.TextColumnName).ToArray();
        if (found.Length == 0)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"GptTrainer: text column '{Options.TextColumnName}' was not found; expected a String column.");
        if (found[^1].Kind != SchemaShape.Column.VectorKind.Scalar || found[^1].ItemType != TextDataViewType.Instance)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"GptTrainer: text column '{Options.TextColumnName}' must be String; found {found[^1].ItemType}.");
        return inputSchema;
    }

    /// <summary>A GenerateText transformer over an exported model folder, fitted without data (it learns nothing).</summary>
    internal static GenerateTextTransformer ServeFolder(string folder, string promptColumn, string completionColumn, Onnx.Generation.GenerationOptions generation)
    {
        var ml = new MLContext(seed: 0);
        var definition = SchemaDefinition.Create(typeof(PromptRow));
        definition[0].ColumnName = promptColumn;
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<PromptRow>(), definition);
        return ml.Transforms.GenerateText(new GenerateTextOptions
        {
            ModelPath = folder, InputColumnName = promptColumn, OutputColumnName = completionColumn, Generation = generation,
        }).Fit(empty);
    }

    /// <summary>Reads a String column and joins its rows with '\n'.</summary>
    internal static string ReadText(IDataView data, string column, string what)
    {
        var col = data.Schema.GetColumnOrNull(column)
            ?? throw new ArgumentOutOfRangeException(nameof(data), $"Text column '{column}' was not found in the {what}; expected a String column.");
        if (col.Type != TextDataViewType.Instance)
            throw new ArgumentOutOfRangeException(nameof(data), $"Text column '{column}' of the {what} must be String; found {col.Type}.");
        var sb = new StringBuilder();
        using var cursor = data.GetRowCursor([col]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(col);
        ReadOnlyMemory<char> value = default;
        bool first = true;
        while (cursor.MoveNext())
        {
            getter(ref value);
            if (!first)
                sb.Append('\n');
            sb.Append(value.Span);
            first = false;
        }
        if (sb.Length == 0)
            throw new ArgumentException($"The {what} has no text in column '{column}' (no rows, or only empty rows).", nameof(data));
        return sb.ToString();
    }

    private static (Tokenizer Tokenizer, Gpt2TokenizerFiles Files, int EosId) CreateTokenizer(GptTrainerOptions o, string? corpus)
    {
        if (o.Vocabulary == LanguageModelVocabulary.Characters && corpus is not null)
        {
            var chars = CharTokenizer.FromCorpus(corpus.Contains(EndOfTextCharacter, StringComparison.Ordinal) ? corpus : corpus + EndOfTextCharacter);
            var inOrder = chars.Vocabulary.OrderBy(kv => kv.Value).Select(kv => kv.Key).ToArray();
            return (chars, Gpt2TokenizerFiles.CharacterLevel(inOrder), chars.Vocabulary[EndOfTextCharacter]);
        }
        string folder = o.Gpt2VocabularyFolder
            ?? (o.InitialCheckpoint is not null ? Path.GetDirectoryName(Path.GetFullPath(o.InitialCheckpoint))! : throw new ArgumentException(
                "GptTrainerOptions.Gpt2VocabularyFolder must name a folder with vocab.json and merges.txt for the GPT-2 BPE vocabulary.", nameof(o)));
        string vocab = Path.Combine(folder, "vocab.json"), merges = Path.Combine(folder, "merges.txt");
        return (Gpt2Tokenizer.Create(vocab, merges), Gpt2TokenizerFiles.Bpe(vocab, merges), Gpt2Tokenizer.EndOfTextTokenId);
    }

    private static long[] Encode(Tokenizer tokenizer, string text, string what)
    {
        try
        {
            var ids = tokenizer.EncodeToIds(text);
            var result = new long[ids.Count];
            for (int i = 0; i < result.Length; i++)
                result[i] = ids[i];
            return result;
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The {what} cannot be tokenized with the training vocabulary: {e.Message}", e);
        }
    }

    private static void Validate(GptTrainerOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (string.IsNullOrWhiteSpace(o.OutputFolder))
            throw new ArgumentException("GptTrainerOptions.OutputFolder must name the folder the trained model is exported to.", nameof(o));
        ArgumentException.ThrowIfNullOrEmpty(o.TextColumnName, "options.TextColumnName");
        if (o.ValidationFraction is < 0 or >= 1)
            throw new ArgumentOutOfRangeException("options.ValidationFraction", o.ValidationFraction, "GptTrainerOptions.ValidationFraction must be in [0, 1).");
        if (o.BlockSize < 2)
            throw new ArgumentOutOfRangeException("options.BlockSize", o.BlockSize, "GptTrainerOptions.BlockSize must be at least 2.");
        if (o.MaxIterations < 1)
            throw new ArgumentOutOfRangeException("options.MaxIterations", o.MaxIterations, "GptTrainerOptions.MaxIterations must be at least 1.");
        if (o.InitialCheckpoint is not null && !File.Exists(o.InitialCheckpoint))
            throw new FileNotFoundException($"GptTrainerOptions.InitialCheckpoint '{o.InitialCheckpoint}' was not found.", o.InitialCheckpoint);
        o.Generation.Validate();
    }

    private sealed class PromptRow
    {
        public string Prompt { get; set; } = "";
    }

    /// <summary>Forwards reports to the user's sink and to ML.NET's log.</summary>
    private sealed class ChannelProgress(IChannel channel, IProgress<LanguageModelTrainingProgress>? inner) : IProgress<LanguageModelTrainingProgress>
    {
        public void Report(LanguageModelTrainingProgress value)
        {
            inner?.Report(value);
            if (value.ValidationLoss is float v)
                channel.Info(MessageSensitivity.None, "{0}", $"step {value.Iteration}: train loss {value.TrainLoss:F4}, validation loss {v:F4}, lr {value.LearningRate:G3}, {value.TokensPerSecond:F0} tokens/s");
        }
    }
}
