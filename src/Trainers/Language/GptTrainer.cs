using System.Text;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>
/// Trains a GPT (GPT-2's architecture) on a text column with TorchSharp, exports it to an ONNX model folder and returns a
/// <see cref="GenerateTextTransformer"/> that serves it through ONNX Runtime.
/// </summary>
/// <remarks>
/// | Column | Type | Used for |
/// | --- | --- | --- |
/// | <see cref="TextModelTrainerOptions.TextColumnName"/> (training data) | String | rows joined with '\n' into one token stream |
/// | <see cref="LanguageModelTrainerOptions.PromptColumnName"/> (data given to the fitted transformer) | String | prompts |
/// | <see cref="LanguageModelTrainerOptions.CompletionColumnName"/> (added by the fitted transformer) | String | completions |
/// Training: random windows of <see cref="TextModelTrainerOptions.BlockSize"/> tokens, AdamW, warm-up + cosine schedule,
/// gradient clipping, validation every <see cref="TextModelTrainerOptions.EvalInterval"/> steps (the last
/// <see cref="TextModelTrainerOptions.ValidationFraction"/> of the stream, or a validation IDataView), optional early
/// stopping, checkpoints with exact resume. Fine-tuning starts from a GPT-2 safetensors checkpoint.
/// </remarks>
public sealed class GptTrainer : LanguageModelTrainerBase<GptTrainerOptions, GptModel>
{
    /// <summary>The end-of-text character added to character vocabularies (ASCII ETX); it never occurs in ordinary text.</summary>
    public const string EndOfTextCharacter = "\u0003";

    private Gpt2Weights? _initial;

    internal GptTrainer(MLContext mlContext, GptTrainerOptions options) : base(mlContext, options) => Validate(options);

    private protected override (LanguageModelVocabulary Vocabulary, string? Gpt2Folder) ResolveVocabulary()
    {
        var o = Options;
        _initial = o.InitialCheckpoint is null ? null : Gpt2Checkpoint.LoadWeights(o.InitialCheckpoint);
        string? gpt2Folder = o.Gpt2VocabularyFolder ?? (o.InitialCheckpoint is null ? null : Path.GetDirectoryName(Path.GetFullPath(o.InitialCheckpoint)));
        return (_initial is null ? o.Vocabulary : LanguageModelVocabulary.Gpt2Bpe, gpt2Folder);
    }

    private protected override GptModel CreateModel(int vocabSize, int endOfTextId)
    {
        var o = Options;
        var config = _initial?.Config ?? new Gpt2Config
        {
            NumLayers = o.NumLayers, NumHeads = o.NumHeads, EmbeddingSize = o.EmbeddingSize, MaxPositions = o.BlockSize,
            VocabSize = vocabSize, BosTokenId = endOfTextId, EosTokenId = endOfTextId,
        };
        if (o.BlockSize > config.MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(o.BlockSize), o.BlockSize, $"GptTrainerOptions.BlockSize ({o.BlockSize}) exceeds the checkpoint's context ({config.MaxPositions}).");
        var model = new GptModel(config, o.Dropout);
        try
        {
            if (_initial is not null)
                model.Load(_initial);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        _initial = null;
        return model;
    }

    private protected override void Export(GptModel model, Gpt2TokenizerFiles files, int endOfTextId, string folder) =>
        // Trained here: generation past the training context keeps going on the latest tokens (nanoGPT's sampling).
        Gpt2Exporter.Export(model.ToGpt2Weights(), files, folder,
            new Gpt2ExportOptions { ContextOverflow = ContextOverflow.SlideWindow, Quantization = Options.ExportQuantization });

    /// <summary>Fails unless <paramref name="column"/> is a String column of <paramref name="inputSchema"/>; returns the schema unchanged.</summary>
    internal static SchemaShape CheckTextColumn(SchemaShape inputSchema, string column, string trainerName)
    {
        var found = inputSchema.Where(c => c.Name == column).ToArray();
        if (found.Length == 0)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"{trainerName}: text column '{column}' was not found; expected a String column.");
        if (found[^1].Kind != SchemaShape.Column.VectorKind.Scalar || found[^1].ItemType != TextDataViewType.Instance)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"{trainerName}: text column '{column}' must be String; found {found[^1].ItemType}.");
        return inputSchema;
    }

    /// <summary>A GenerateText transformer over an exported model folder, fitted without data (it learns nothing).</summary>
    internal static GenerateTextTransformer ServeFolder(MLContext ml, string folder, string promptColumn, string completionColumn, Onnx.Generation.GenerationOptions generation)
    {
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

    /// <summary>The tokenizer, its exportable files and the end-of-text id: characters of <paramref name="corpus"/> plus <see cref="EndOfTextCharacter"/>, or GPT-2 BPE from <paramref name="gpt2Folder"/>.</summary>
    internal static (Tokenizer Tokenizer, Gpt2TokenizerFiles Files, int EosId) CreateTokenizer(LanguageModelVocabulary vocabulary, string? gpt2Folder, string corpus, string optionsName)
    {
        if (vocabulary == LanguageModelVocabulary.Characters)
        {
            var chars = CharTokenizer.FromCorpus(corpus.Contains(EndOfTextCharacter, StringComparison.Ordinal) ? corpus : corpus + EndOfTextCharacter);
            var inOrder = chars.Vocabulary.OrderBy(kv => kv.Value).Select(kv => kv.Key).ToArray();
            return (chars, Gpt2TokenizerFiles.CharacterLevel(inOrder), chars.Vocabulary[EndOfTextCharacter]);
        }
        string folder = gpt2Folder ?? throw new ArgumentException(
            $"{optionsName}.Gpt2VocabularyFolder must name a folder with vocab.json and merges.txt for the GPT-2 BPE vocabulary.", optionsName);
        string vocab = Path.Combine(folder, "vocab.json"), merges = Path.Combine(folder, "merges.txt");
        return (Gpt2Tokenizer.Create(vocab, merges), Gpt2TokenizerFiles.Bpe(vocab, merges), Gpt2Tokenizer.EndOfTextTokenId);
    }

    /// <summary>Tokenizes the training (and validation) text and holds out the end of the stream when no validation text is given.</summary>
    internal static (long[] Train, long[] Valid) SplitTokens(Tokenizer tokenizer, string text, string? validationText, double validationFraction, int blockSize, string trainerName)
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
        if (train.Length <= blockSize)
            throw new ArgumentException($"The training text has {train.Length} tokens after the validation split; {trainerName} needs more than BlockSize ({blockSize}).", "input");
        if (valid.Length > 0 && valid.Length <= blockSize)
            throw new ArgumentException($"The validation text has {valid.Length} tokens; it needs more than BlockSize ({blockSize}). Raise ValidationFraction, give more text, or set it to 0.", "validation");
        return (train, valid);
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
        if (o.BlockSize < 2)
            throw new ArgumentOutOfRangeException("options.BlockSize", o.BlockSize, "GptTrainerOptions.BlockSize must be at least 2.");
        if (o.MaxIterations < 1)
            throw new ArgumentOutOfRangeException("options.MaxIterations", o.MaxIterations, "GptTrainerOptions.MaxIterations must be at least 1.");
        if (o.InitialCheckpoint is not null && !File.Exists(o.InitialCheckpoint))
            throw new FileNotFoundException($"GptTrainerOptions.InitialCheckpoint '{o.InitialCheckpoint}' was not found.", o.InitialCheckpoint);
        if (o.ExportQuantization is { } q)
        {
            // Checked before training, not at export after minutes of it.
            q.Validate();
            if (o.InitialCheckpoint is null && (q.ForWidth(o.EmbeddingSize) is not { } resolved || o.EmbeddingSize % resolved.BlockSize != 0))
                throw new ArgumentOutOfRangeException("options.ExportQuantization", q.BlockSize, q.BlockSize == Aigc.MLNet.Onnx.Quantization.BlockQuantizationOptions.Automatic
                    ? $"GptTrainerOptions.ExportQuantization: no block size from 16 to 128 divides EmbeddingSize ({o.EmbeddingSize}); choose an EmbeddingSize that is a multiple of 16."
                    : $"GptTrainerOptions.ExportQuantization.BlockSize ({q.BlockSize}) must divide EmbeddingSize ({o.EmbeddingSize}).");
        }
    }

    private sealed class PromptRow
    {
        public string Prompt { get; set; } = "";
    }

    /// <summary>Forwards reports to the user's sink and to ML.NET's log.</summary>
    internal sealed class ChannelProgress(IChannel channel, IProgress<LanguageModelTrainingProgress>? inner) : IProgress<LanguageModelTrainingProgress>
    {
        public void Report(LanguageModelTrainingProgress value)
        {
            inner?.Report(value);
            if (value.ValidationLoss is float v)
                channel.Info(MessageSensitivity.None, "{0}", $"step {value.Iteration}: train loss {value.TrainLoss:F4}, validation loss {v:F4}, lr {value.LearningRate:G3}, {value.TokensPerSecond:F0} tokens/s");
        }
    }
}
