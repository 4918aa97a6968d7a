using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>
/// Trains a BERT-style masked language model on a text column with TorchSharp, exports it to an ONNX model folder and
/// returns a <see cref="FillMaskTransformer"/> that serves it through ONNX Runtime.
/// </summary>
/// <remarks>
/// | Column | Type | Used for |
/// | --- | --- | --- |
/// | <see cref="TextModelTrainerOptions.TextColumnName"/> (training data) | String | rows joined with '\n' into one token stream |
/// | <see cref="MaskedLanguageModelTrainerOptions.MaskedTextColumnName"/> (data given to the fitted transformer) | String | text with mask tokens |
/// | <see cref="MaskedLanguageModelTrainerOptions.CandidatesColumnName"/> (added by the fitted transformer) | vector of String | TopK candidates per mask, mask by mask |
/// | <see cref="MaskedLanguageModelTrainerOptions.ProbabilitiesColumnName"/> (added by the fitted transformer) | vector of Single | their probabilities |
/// Training: random windows of <see cref="TextModelTrainerOptions.BlockSize"/> tokens; 15 % of positions chosen, of
/// which 80 % become the mask token, 10 % a random token and 10 % stay; cross-entropy on the chosen positions only. AdamW,
/// warm-up + cosine schedule, gradient clipping, validation MLM loss every
/// <see cref="TextModelTrainerOptions.EvalInterval"/> steps (the last <see cref="TextModelTrainerOptions.ValidationFraction"/>
/// of the stream, or a validation IDataView), optional early stopping, atomic checkpoints with exact resume, NaN guard, cancellation.
/// </remarks>
public sealed class MaskedLanguageModelTrainer : IEstimator<FillMaskTransformer>
{
    private readonly MLContext _mlContext;

    internal MaskedLanguageModelTrainer(MLContext mlContext, MaskedLanguageModelTrainerOptions options)
    {
        _mlContext = mlContext;
        Validate(options);
        Options = options;
    }

    /// <summary>The options.</summary>
    public MaskedLanguageModelTrainerOptions Options { get; }

    /// <summary>Losses and steps of the last <see cref="Fit(IDataView)"/>, or null before the first (losses are MLM cross-entropies in nats).</summary>
    public LanguageModelTrainingResult? LastResult { get; private set; }

    /// <summary>Trains on <paramref name="input"/> (validation: its last <see cref="TextModelTrainerOptions.ValidationFraction"/>), exports, and returns the FillMask transformer.</summary>
    /// <param name="input">Training data with the text column.</param>
    public FillMaskTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="input"/>, validates on <paramref name="validation"/>, exports, and returns the FillMask transformer.</summary>
    /// <param name="input">Training data with the text column.</param>
    /// <param name="validation">Validation data with the same text column, or null to hold out the end of the training stream.</param>
    public FillMaskTransformer Fit(IDataView input, IDataView? validation)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = Options;
        using var channel = ((IChannelProvider)_mlContext).Start(nameof(MaskedLanguageModelTrainer));
        string text = GptTrainer.ReadText(input, o.TextColumnName, "training data");
        string? validationText = validation is null ? null : GptTrainer.ReadText(validation, o.TextColumnName, "validation data");

        var tokenizer = CreateTokenizer(o, text);
        var (train, valid) = SplitTokens(tokenizer, text, validationText, o.ValidationFraction, o.BlockSize);

        var device = TrainingDevice.Resolve(o.Device);
        if (o.Threads > 0)
            torch.set_num_threads(o.Threads);
        var config = new MaskedLMConfig
        {
            Vocabulary = tokenizer.Kind, VocabSize = tokenizer.VocabularySize, MaskToken = tokenizer.MaskToken, MaskTokenId = tokenizer.MaskTokenId,
            MaxPositions = o.BlockSize, NumLayers = o.NumLayers, NumHeads = o.NumHeads, EmbeddingSize = o.EmbeddingSize, MlpSize = o.EffectiveMlpSize,
        };
        torch.manual_seed(o.Seed);
        using var model = new MaskedLanguageModel(config, o.Dropout);
        model.to(device);
        channel.Info(MessageSensitivity.None, "{0}", $"MaskedLanguageModelTrainer: {model.Architecture}, {train.Length:N0} training and {valid.Length:N0} validation tokens.");

        var masking = new MlmMasking(tokenizer.MaskTokenId, tokenizer.BaseVocabularySize, o.MaskProbability, o.MaskTokenFraction, o.RandomTokenFraction);
        var progress = new GptTrainer.ChannelProgress(channel, o.Progress);
        LastResult = MaskedLanguageModelTraining.Run(model, train, valid.Length > 0 ? valid : null, o.ToTrainingSettings(valid.Length > 0),
            masking, progress, o.CancellationToken);

        MaskedLanguageModelExport.Export(model, tokenizer, o.OutputFolder);
        channel.Info(MessageSensitivity.None, "{0}", $"MaskedLanguageModelTrainer: exported to '{o.OutputFolder}'.");
        return ServeFolder(o);
    }

    /// <summary>Checks the text column; the fitted transformer applies to masked text, so the schema is returned unchanged.</summary>
    /// <param name="inputSchema">Schema of the training data.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => GptTrainer.CheckTextColumn(inputSchema, Options.TextColumnName, nameof(MaskedLanguageModelTrainer));

    private FillMaskTransformer ServeFolder(MaskedLanguageModelTrainerOptions o)
    {
        var ml = _mlContext;
        var definition = SchemaDefinition.Create(typeof(TextRow));
        definition[0].ColumnName = o.MaskedTextColumnName;
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<TextRow>(), definition);
        return ml.Transforms.FillMask(new FillMaskOptions
        {
            ModelPath = o.OutputFolder, InputColumnName = o.MaskedTextColumnName, OutputColumnName = o.CandidatesColumnName,
            ProbabilitiesColumnName = o.ProbabilitiesColumnName, TopK = o.TopK,
        }).Fit(empty);
    }

    /// <summary>The vocabulary: characters of <paramref name="corpus"/> (the mask text's own characters are not added unless they occur), or GPT-2 BPE; plus the mask token.</summary>
    internal static MaskedLMTokenizer CreateTokenizer(MaskedLanguageModelTrainerOptions o, string corpus)
    {
        if (o.Vocabulary == LanguageModelVocabulary.Characters)
            return MaskedLMTokenizer.ForCharacters(CharTokenizer.FromCorpus(corpus), o.MaskToken);
        string folder = o.Gpt2VocabularyFolder ?? throw new ArgumentException(
            "MaskedLanguageModelTrainerOptions.Gpt2VocabularyFolder must name a folder with vocab.json and merges.txt for the GPT-2 BPE vocabulary.", "options");
        return MaskedLMTokenizer.ForGpt2(Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"), o.MaskToken);
    }

    private static (long[] Train, long[] Valid) SplitTokens(MaskedLMTokenizer tokenizer, string text, string? validationText, double validationFraction, int blockSize)
    {
        long[] ids = Encode(tokenizer, text, "training data");
        long[] train = ids, valid;
        if (validationText is not null)
        {
            valid = Encode(tokenizer, validationText, "validation data");
        }
        else
        {
            int held = (int)(ids.Length * validationFraction);
            train = ids[..(ids.Length - held)];
            valid = ids[(ids.Length - held)..];
        }
        if (train.Length < blockSize)
            throw new ArgumentException($"The training text has {train.Length} tokens after the validation split; MaskedLanguageModelTrainer needs at least BlockSize ({blockSize}).", "input");
        if (valid.Length > 0 && valid.Length < blockSize)
            throw new ArgumentException($"The validation text has {valid.Length} tokens; it needs at least BlockSize ({blockSize}). Raise ValidationFraction, give more text, or set it to 0.", "validation");
        return (train, valid);
    }

    private static long[] Encode(MaskedLMTokenizer tokenizer, string text, string what)
    {
        try
        {
            return tokenizer.Encode(text).Select(i => (long)i).ToArray();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The {what} cannot be tokenized with the training vocabulary: {e.Message}", e);
        }
    }

    private static void Validate(MaskedLanguageModelTrainerOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        const string name = "MaskedLanguageModelTrainerOptions";
        if (string.IsNullOrWhiteSpace(o.OutputFolder))
            throw new ArgumentException($"{name}.OutputFolder must name the folder the trained model is exported to.", "options");
        ArgumentException.ThrowIfNullOrEmpty(o.TextColumnName, "options.TextColumnName");
        ArgumentException.ThrowIfNullOrEmpty(o.MaskToken, "options.MaskToken");
        ArgumentException.ThrowIfNullOrEmpty(o.MaskedTextColumnName, "options.MaskedTextColumnName");
        ArgumentException.ThrowIfNullOrEmpty(o.CandidatesColumnName, "options.CandidatesColumnName");
        if (o.ValidationFraction is < 0 or >= 1)
            throw new ArgumentOutOfRangeException("options.ValidationFraction", o.ValidationFraction, $"{name}.ValidationFraction must be in [0, 1).");
        if (o.BlockSize < 2)
            throw new ArgumentOutOfRangeException("options.BlockSize", o.BlockSize, $"{name}.BlockSize must be at least 2.");
        if (o.MaxIterations < 1)
            throw new ArgumentOutOfRangeException("options.MaxIterations", o.MaxIterations, $"{name}.MaxIterations must be at least 1.");
        if (o.BatchSize < 1)
            throw new ArgumentOutOfRangeException("options.BatchSize", o.BatchSize, $"{name}.BatchSize must be at least 1.");
        if (o.NumLayers < 1 || o.NumHeads < 1 || o.EmbeddingSize < 1 || o.MlpSize < 0)
            throw new ArgumentOutOfRangeException("options", $"{name}: NumLayers, NumHeads and EmbeddingSize must be positive and MlpSize non-negative.");
        if (o.EmbeddingSize % o.NumHeads != 0)
            throw new ArgumentOutOfRangeException("options.NumHeads", o.NumHeads, $"{name}.EmbeddingSize ({o.EmbeddingSize}) must be a multiple of NumHeads ({o.NumHeads}).");
        if (o.TopK < 1)
            throw new ArgumentOutOfRangeException("options.TopK", o.TopK, $"{name}.TopK must be at least 1.");
        new MlmMasking(0, 1, o.MaskProbability, o.MaskTokenFraction, o.RandomTokenFraction).Validate();
    }

    private sealed class TextRow
    {
        public string Text { get; set; } = "";
    }
}
