using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>
/// Trains an LSTM language model (embedding → stacked LSTM → linear head) on a text column with TorchSharp, exports it
/// to an ONNX model folder (<see cref="LstmOnnxExport"/>) and returns a <see cref="GenerateTextTransformer"/> that serves
/// it through ONNX Runtime.
/// </summary>
/// <remarks>
/// | Column | Type | Used for |
/// | --- | --- | --- |
/// | <see cref="LanguageModelTrainerOptions.TextColumnName"/> (training data) | String | rows joined with '\n' into one token stream |
/// | <see cref="LanguageModelTrainerOptions.PromptColumnName"/> (data given to the fitted transformer) | String | prompts |
/// | <see cref="LanguageModelTrainerOptions.CompletionColumnName"/> (added by the fitted transformer) | String | completions |
/// Training is <see cref="GptTrainer"/>'s: random windows of <see cref="LanguageModelTrainerOptions.BlockSize"/> tokens (each
/// starting from a zero state), AdamW, warm-up + cosine schedule, gradient clipping, validation every
/// <see cref="LanguageModelTrainerOptions.EvalInterval"/> steps, optional early stopping, checkpoints with exact resume.
/// The exported graph has no attention mask, so keep GenerateText's batch size at 1 (the default) unless prompts have equal lengths.
/// </remarks>
public sealed class LstmTrainer : IEstimator<GenerateTextTransformer>
{
    private readonly MLContext _mlContext;

    internal LstmTrainer(MLContext mlContext, LstmTrainerOptions options)
    {
        _mlContext = mlContext;
        Options = options;
        Validate(options);
    }

    /// <summary>The options.</summary>
    public LstmTrainerOptions Options { get; }

    /// <summary>Losses and steps of the last <see cref="Fit(IDataView)"/>, or null before the first.</summary>
    public LanguageModelTrainingResult? LastResult { get; private set; }

    /// <summary>Trains on <paramref name="input"/> (validation: its last <see cref="LanguageModelTrainerOptions.ValidationFraction"/>), exports, and returns the GenerateText transformer.</summary>
    /// <param name="input">Training data with the text column.</param>
    public GenerateTextTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="input"/>, validates on <paramref name="validation"/>, exports, and returns the GenerateText transformer.</summary>
    /// <param name="input">Training data with the text column.</param>
    /// <param name="validation">Validation data with the same text column, or null to hold out the end of the training stream.</param>
    public GenerateTextTransformer Fit(IDataView input, IDataView? validation)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = Options;
        using var channel = ((IChannelProvider)_mlContext).Start(nameof(LstmTrainer));
        string text = GptTrainer.ReadText(input, o.TextColumnName, "training data");
        string? validationText = validation is null ? null : GptTrainer.ReadText(validation, o.TextColumnName, "validation data");
        var (tokenizer, files, eosId) = GptTrainer.CreateTokenizer(o.Vocabulary, o.Gpt2VocabularyFolder, text, nameof(LstmTrainerOptions));
        var (train, valid) = GptTrainer.SplitTokens(tokenizer, text, validationText, o.ValidationFraction, o.BlockSize, nameof(LstmTrainer));

        var device = TrainingDevice.Resolve(o.Device);
        if (o.Threads > 0)
            torch.set_num_threads(o.Threads);
        torch.manual_seed(o.Seed);
        using var model = new LstmLanguageModel(files.Count(), o.EmbeddingSize, o.HiddenSize, o.NumLayers, o.Dropout);
        model.to(device);
        channel.Info(MessageSensitivity.None, "{0}", $"LstmTrainer: {model.Architecture}, {train.Length:N0} training and {valid.Length:N0} validation tokens.");

        var settings = o.ToTrainingSettings(hasValidation: valid.Length > 0);
        var progress = new GptTrainer.ChannelProgress(channel, o.Progress);
        LastResult = LanguageModelTraining.Run(model, train, valid.Length > 0 ? valid : null, settings, progress, o.CancellationToken);

        LstmOnnxExport.Export(model, files, eosId, o.OutputFolder);
        channel.Info(MessageSensitivity.None, "{0}", $"LstmTrainer: exported to '{o.OutputFolder}'.");
        return GptTrainer.ServeFolder(o.OutputFolder, o.PromptColumnName, o.CompletionColumnName, o.Generation);
    }

    /// <summary>Checks the text column; the fitted transformer applies to prompt data, so the schema is returned unchanged.</summary>
    /// <param name="inputSchema">Schema of the training data.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => GptTrainer.CheckTextColumn(inputSchema, Options.TextColumnName, nameof(LstmTrainer));

    private static void Validate(LstmTrainerOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (string.IsNullOrWhiteSpace(o.OutputFolder))
            throw new ArgumentException("LstmTrainerOptions.OutputFolder must name the folder the trained model is exported to.", nameof(o));
        ArgumentException.ThrowIfNullOrEmpty(o.TextColumnName, "options.TextColumnName");
        void Positive(int value, string name, int min = 1)
        {
            if (value < min)
                throw new ArgumentOutOfRangeException($"options.{name}", value, $"LstmTrainerOptions.{name} must be at least {min}.");
        }
        Positive(o.EmbeddingSize, nameof(o.EmbeddingSize));
        Positive(o.HiddenSize, nameof(o.HiddenSize));
        Positive(o.NumLayers, nameof(o.NumLayers));
        Positive(o.BlockSize, nameof(o.BlockSize), 2);
        Positive(o.BatchSize, nameof(o.BatchSize));
        Positive(o.MaxIterations, nameof(o.MaxIterations));
        if (o.Dropout is < 0 or >= 1)
            throw new ArgumentOutOfRangeException("options.Dropout", o.Dropout, "LstmTrainerOptions.Dropout must be in [0, 1).");
        if (o.ValidationFraction is < 0 or >= 1)
            throw new ArgumentOutOfRangeException("options.ValidationFraction", o.ValidationFraction, "LstmTrainerOptions.ValidationFraction must be in [0, 1).");
        o.Generation.Validate();
    }
}
