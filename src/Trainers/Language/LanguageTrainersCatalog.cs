using Aigc.MLNet.Transforms;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>Language-model trainers on <c>mlContext.Generative().Trainers</c>.</summary>
public static class LanguageTrainersCatalog
{
    /// <summary>A GPT trainer (GPT-2's architecture, character or GPT-2 BPE vocabulary, optional fine-tuning from a GPT-2 checkpoint).</summary>
    /// <param name="trainers">The generative trainers catalog.</param>
    /// <param name="options">Architecture, optimisation, export folder and the returned transformer's generation options.</param>
    public static GptTrainer Gpt(this GenerativeTrainers trainers, GptTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(trainers);
        return new GptTrainer(trainers.Context, options);
    }

    /// <summary>A GPT trainer with a character vocabulary (nanoGPT's CPU configuration by default).</summary>
    /// <param name="trainers">The generative trainers catalog.</param>
    /// <param name="outputFolder">Folder the trained model is exported to (ONNX Optimum layout).</param>
    /// <param name="textColumnName">Training text column (String).</param>
    /// <param name="numLayers">Transformer blocks.</param>
    /// <param name="numHeads">Attention heads per block.</param>
    /// <param name="embeddingSize">Width of the residual stream (a multiple of <paramref name="numHeads"/>).</param>
    /// <param name="blockSize">Context length in tokens.</param>
    /// <param name="maxIterations">Optimiser steps.</param>
    /// <param name="seed">Seed of initialisation and batch sampling.</param>
    public static GptTrainer Gpt(this GenerativeTrainers trainers, string outputFolder, string textColumnName = "Text",
        int numLayers = 4, int numHeads = 4, int embeddingSize = 128, int blockSize = 64, int maxIterations = 2000, int seed = 1337)
        => Gpt(trainers, new GptTrainerOptions
        {
            OutputFolder = outputFolder, TextColumnName = textColumnName, NumLayers = numLayers, NumHeads = numHeads,
            EmbeddingSize = embeddingSize, BlockSize = blockSize, MaxIterations = maxIterations, Seed = seed,
        });

    /// <summary>An LSTM language-model trainer (character or GPT-2 BPE vocabulary); the fitted model is exported to ONNX and served by GenerateText.</summary>
    /// <param name="trainers">The generative trainers catalog.</param>
    /// <param name="options">Architecture, optimisation, export folder and the returned transformer's generation options.</param>
    public static LstmTrainer Lstm(this GenerativeTrainers trainers, LstmTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(trainers);
        return new LstmTrainer(trainers.Context, options);
    }

    /// <summary>An LSTM language-model trainer with a character vocabulary.</summary>
    /// <param name="trainers">The generative trainers catalog.</param>
    /// <param name="outputFolder">Folder the trained model is exported to.</param>
    /// <param name="textColumnName">Training text column (String).</param>
    /// <param name="hiddenSize">LSTM state width.</param>
    /// <param name="numLayers">Stacked LSTM layers.</param>
    /// <param name="maxIterations">Optimiser steps.</param>
    /// <param name="seed">Seed of initialisation and batch sampling.</param>
    public static LstmTrainer Lstm(this GenerativeTrainers trainers, string outputFolder, string textColumnName = "Text",
        int hiddenSize = 256, int numLayers = 2, int maxIterations = 2000, int seed = 1337)
        => Lstm(trainers, new LstmTrainerOptions
        {
            OutputFolder = outputFolder, TextColumnName = textColumnName, HiddenSize = hiddenSize, NumLayers = numLayers,
            MaxIterations = maxIterations, Seed = seed,
        });
}
