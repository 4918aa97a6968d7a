using Aigc.MLNet.Transforms;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>The masked-language-model trainer on <c>mlContext.Generative().Trainers</c>.</summary>
public static class MaskedLanguageModelTrainersCatalog
{
    /// <summary>A BERT-style masked language model trainer (character or GPT-2 BPE vocabulary with a mask token); Fit returns a FillMask transformer over the exported ONNX model.</summary>
    /// <param name="trainers">The generative trainers catalog.</param>
    /// <param name="options">Architecture, masking, optimisation, export folder and the returned transformer's columns.</param>
    public static MaskedLanguageModelTrainer MaskedLanguageModel(this GenerativeTrainers trainers, MaskedLanguageModelTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(trainers);
        return new MaskedLanguageModelTrainer(trainers.Context, options);
    }

    /// <summary>A masked language model trainer with a character vocabulary.</summary>
    /// <param name="trainers">The generative trainers catalog.</param>
    /// <param name="outputFolder">Folder the trained model is exported to.</param>
    /// <param name="textColumnName">Training text column (String); also the masked-text column of the returned FillMask transformer.</param>
    /// <param name="blockSize">Context length in tokens.</param>
    /// <param name="numLayers">Encoder blocks.</param>
    /// <param name="embeddingSize">Model width.</param>
    /// <param name="maxIterations">Optimiser steps.</param>
    /// <param name="seed">Seed of initialisation, windows and masks.</param>
    public static MaskedLanguageModelTrainer MaskedLanguageModel(this GenerativeTrainers trainers, string outputFolder, string textColumnName = "Text",
        int blockSize = 64, int numLayers = 4, int embeddingSize = 128, int maxIterations = 2000, int seed = 1337)
        => MaskedLanguageModel(trainers, new MaskedLanguageModelTrainerOptions
        {
            OutputFolder = outputFolder, TextColumnName = textColumnName, MaskedTextColumnName = textColumnName, BlockSize = blockSize,
            NumLayers = numLayers, EmbeddingSize = embeddingSize, MaxIterations = maxIterations, Seed = seed,
        });
}
