using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>A TorchSharp next-token model the language-model training loop can train.</summary>
public interface ICausalLanguageModel
{
    /// <summary>Architecture and sizes, recorded in checkpoints so a resume uses the same model (e.g. "Gpt:L4:H4:E128:P64:V65").</summary>
    string Architecture { get; }

    /// <summary>Longest input the model accepts, in tokens (null when unbounded, as for an LSTM).</summary>
    int? MaxContext { get; }

    /// <summary>Logits [batch, time, vocab] for token ids [batch, time].</summary>
    /// <param name="ids">Int64 token ids.</param>
    Tensor forward(Tensor ids);

    /// <summary>Mean next-token cross-entropy of <paramref name="ids"/> against <paramref name="targets"/> (same shape).</summary>
    /// <param name="ids">Input ids [batch, time].</param>
    /// <param name="targets">Target ids [batch, time].</param>
    Tensor Loss(Tensor ids, Tensor targets);
}
