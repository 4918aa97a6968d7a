using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>
/// Trains an LSTM language model (embedding → stacked LSTM → linear head) on a text column with TorchSharp, exports it
/// to an ONNX model folder (<see cref="LstmOnnxExport"/>) and returns a <see cref="GenerateTextTransformer"/> that serves
/// it through ONNX Runtime.
/// </summary>
/// <remarks>
/// | Column | Type | Used for |
/// | --- | --- | --- |
/// | <see cref="TextModelTrainerOptions.TextColumnName"/> (training data) | String | rows joined with '\n' into one token stream |
/// | <see cref="LanguageModelTrainerOptions.PromptColumnName"/> (data given to the fitted transformer) | String | prompts |
/// | <see cref="LanguageModelTrainerOptions.CompletionColumnName"/> (added by the fitted transformer) | String | completions |
/// Training is <see cref="GptTrainer"/>'s: random windows of <see cref="TextModelTrainerOptions.BlockSize"/> tokens (each
/// starting from a zero state), AdamW, warm-up + cosine schedule, gradient clipping, validation every
/// <see cref="TextModelTrainerOptions.EvalInterval"/> steps, optional early stopping, checkpoints with exact resume.
/// The exported graph has no attention mask, so keep GenerateText's batch size at 1 (the default) unless prompts have equal lengths.
/// </remarks>
public sealed class LstmTrainer : LanguageModelTrainerBase<LstmTrainerOptions, LstmLanguageModel>
{
    internal LstmTrainer(MLContext mlContext, LstmTrainerOptions options) : base(mlContext, options) => Validate(options);

    private protected override LstmLanguageModel CreateModel(int vocabSize, int endOfTextId) =>
        new(vocabSize, Options.EmbeddingSize, Options.HiddenSize, Options.NumLayers, Options.Dropout);

    private protected override void Export(LstmLanguageModel model, Gpt2TokenizerFiles files, int endOfTextId, string folder) =>
        LstmOnnxExport.Export(model, files, endOfTextId, folder);

    private static void Validate(LstmTrainerOptions o)
    {
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
    }
}
