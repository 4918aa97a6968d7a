using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>
/// The shared <c>Fit</c> of the language-model trainers (<see cref="GptTrainer"/>, <see cref="LstmTrainer"/>): read the
/// text column, tokenize, hold out validation tokens, build the model, run <see cref="LanguageModelTraining"/>, export
/// to ONNX and serve the folder with GenerateText. Only this assembly derives from it.
/// </summary>
/// <typeparam name="TOptions">The trainer's options.</typeparam>
/// <typeparam name="TModel">The TorchSharp model trained.</typeparam>
public abstract class LanguageModelTrainerBase<TOptions, TModel> : IEstimator<GenerateTextTransformer>
    where TOptions : LanguageModelTrainerOptions
    where TModel : torch.nn.Module<torch.Tensor, torch.Tensor>, ICausalLanguageModel
{
    private readonly MLContext _mlContext;

    private protected LanguageModelTrainerBase(MLContext mlContext, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(options);
        _mlContext = mlContext;
        Options = options;
        string name = typeof(TOptions).Name;
        if (string.IsNullOrWhiteSpace(options.OutputFolder))
            throw new ArgumentException($"{name}.OutputFolder must name the folder the trained model is exported to.", nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(options.TextColumnName, "options.TextColumnName");
        if (options.ValidationFraction is < 0 or >= 1)
            throw new ArgumentOutOfRangeException("options.ValidationFraction", options.ValidationFraction, $"{name}.ValidationFraction must be in [0, 1).");
        options.Generation.Validate();
    }

    /// <summary>The options.</summary>
    public TOptions Options { get; }

    /// <summary>Losses and steps of the last completed <see cref="Fit(IDataView)"/>, or null before the first.</summary>
    public LanguageModelTrainingResult? LastResult { get; private set; }

    /// <summary>Trainable parameters of the model of the last <see cref="Fit(IDataView)"/> (set once the model is built), or null before the first.</summary>
    public long? LastParameterCount { get; private set; }

    /// <summary>Trains on <paramref name="input"/> (validation: its last <see cref="TextModelTrainerOptions.ValidationFraction"/>), exports, and returns the GenerateText transformer.</summary>
    /// <param name="input">Training data with the text column.</param>
    public GenerateTextTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="input"/>, validates on <paramref name="validation"/>, exports, and returns the GenerateText transformer.</summary>
    /// <param name="input">Training data with the text column.</param>
    /// <param name="validation">Validation data with the same text column, or null to hold out the end of the training stream.</param>
    /// <exception cref="OperationCanceledException">
    /// <see cref="TextModelTrainerOptions.CancellationToken"/> stopped training (after the checkpoint, and with
    /// <see cref="LanguageModelTrainerOptions.ExportOnCancellation"/> after the export of the last completed step).
    /// </exception>
    public GenerateTextTransformer Fit(IDataView input, IDataView? validation)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = Options;
        string trainer = GetType().Name;
        using var channel = ((IChannelProvider)_mlContext).Start(trainer);
        string text = GptTrainer.ReadText(input, o.TextColumnName, "training data");
        string? validationText = validation is null ? null : GptTrainer.ReadText(validation, o.TextColumnName, "validation data");
        var (vocabulary, gpt2Folder) = ResolveVocabulary();
        var (tokenizer, files, eosId) = GptTrainer.CreateTokenizer(vocabulary, gpt2Folder, text, typeof(TOptions).Name);
        var (train, valid) = GptTrainer.SplitTokens(tokenizer, text, validationText, o.ValidationFraction, o.BlockSize, trainer);

        var device = TrainingDevice.Resolve(o.Device);
        if (o.Threads > 0)
            torch.set_num_threads(o.Threads);
        torch.manual_seed(o.Seed);
        using var model = CreateModel(files.Count(), eosId);
        model.to(device);
        LastParameterCount = model.parameters().Sum(p => p.numel());
        channel.Info(MessageSensitivity.None, "{0}", $"{trainer}: {model.Architecture}, {LastParameterCount:N0} parameters, {train.Length:N0} training and {valid.Length:N0} validation tokens.");

        var settings = o.ToTrainingSettings(hasValidation: valid.Length > 0);
        var progress = new GptTrainer.ChannelProgress(channel, o.Progress);
        try
        {
            LastResult = LanguageModelTraining.Run(model, train, valid.Length > 0 ? valid : null, settings, progress, o.CancellationToken);
        }
        catch (OperationCanceledException) when (o.ExportOnCancellation && o.CancellationToken.IsCancellationRequested)
        {
            // The model holds the weights of the last completed step: export them so a stopped run still leaves a usable model.
            model.eval();
            Export(model, files, eosId, o.OutputFolder);
            channel.Info(MessageSensitivity.None, "{0}", $"{trainer}: cancelled; the last completed step was exported to '{o.OutputFolder}'.");
            throw;
        }

        Export(model, files, eosId, o.OutputFolder);
        channel.Info(MessageSensitivity.None, "{0}", $"{trainer}: exported to '{o.OutputFolder}'.");
        return GptTrainer.ServeFolder(_mlContext, o.OutputFolder, o.PromptColumnName, o.CompletionColumnName, o.Generation);
    }

    /// <summary>Checks the text column; the fitted transformer applies to prompt data, so the schema is returned unchanged.</summary>
    /// <param name="inputSchema">Schema of the training data.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => GptTrainer.CheckTextColumn(inputSchema, Options.TextColumnName, GetType().Name);

    /// <summary>The vocabulary to train with and the GPT-2 vocabulary folder (for BPE).</summary>
    private protected virtual (LanguageModelVocabulary Vocabulary, string? Gpt2Folder) ResolveVocabulary() => (Options.Vocabulary, Options.Gpt2VocabularyFolder);

    /// <summary>Builds the model (after the seed is set) for a vocabulary of <paramref name="vocabSize"/> ids.</summary>
    private protected abstract TModel CreateModel(int vocabSize, int endOfTextId);

    /// <summary>Writes the model folder.</summary>
    private protected abstract void Export(TModel model, Gpt2TokenizerFiles files, int endOfTextId, string folder);
}
