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
}
