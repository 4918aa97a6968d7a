using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>
/// An LSTM language model (the classic character-level text generator): token embedding, a stacked LSTM, and a linear
/// projection to the vocabulary.
/// </summary>
public sealed class LstmLanguageModel : nn.Module<Tensor, Tensor>, ICausalLanguageModel
{
#pragma warning disable IDE1006 // field names are the parameter names in checkpoints
    private readonly Embedding embedding;
    private readonly LSTM lstm;
    private readonly Linear head;
#pragma warning restore IDE1006

    /// <summary>Creates the model.</summary>
    /// <param name="vocabSize">Number of token ids.</param>
    /// <param name="embeddingSize">Width of the token embedding.</param>
    /// <param name="hiddenSize">LSTM state width.</param>
    /// <param name="layers">Stacked LSTM layers.</param>
    /// <param name="dropout">Dropout between LSTM layers while training.</param>
    public LstmLanguageModel(int vocabSize, int embeddingSize = 64, int hiddenSize = 256, int layers = 2, double dropout = 0.0)
        : base(nameof(LstmLanguageModel))
    {
        if (vocabSize < 2) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "The vocabulary needs at least 2 tokens.");
        if (embeddingSize < 1) throw new ArgumentOutOfRangeException(nameof(embeddingSize), embeddingSize, "embeddingSize must be positive.");
        if (hiddenSize < 1) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "hiddenSize must be positive.");
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "layers must be positive.");
        if (dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "dropout must be in [0, 1).");
        VocabSize = vocabSize;
        EmbeddingSize = embeddingSize;
        HiddenSize = hiddenSize;
        Layers = layers;
        embedding = nn.Embedding(vocabSize, embeddingSize);
        lstm = nn.LSTM(embeddingSize, hiddenSize, numLayers: layers, batchFirst: true, dropout: layers > 1 ? dropout : 0.0);
        head = nn.Linear(hiddenSize, vocabSize);
        RegisterComponents();
    }

    /// <summary>Number of token ids.</summary>
    public int VocabSize { get; }

    /// <summary>Embedding width.</summary>
    public int EmbeddingSize { get; }

    /// <summary>LSTM state width.</summary>
    public int HiddenSize { get; }

    /// <summary>Stacked LSTM layers.</summary>
    public int Layers { get; }

    /// <inheritdoc />
    public int? MaxContext => null;

    /// <inheritdoc />
    public string Architecture => $"Lstm:V{VocabSize}:E{EmbeddingSize}:H{HiddenSize}:L{Layers}";

    /// <inheritdoc />
    public override Tensor forward(Tensor ids) => Step(ids, null).Logits;

    /// <summary>Runs the LSTM over <paramref name="ids"/> from <paramref name="state"/> (zeros when null) and returns logits and the new state, for step-by-step generation.</summary>
    /// <param name="ids">Token ids [batch, time].</param>
    /// <param name="state">Hidden and cell state [layers, batch, hidden] each, or null.</param>
    public (Tensor Logits, (Tensor H, Tensor C) State) Step(Tensor ids, (Tensor H, Tensor C)? state)
    {
        if (ids.dim() != 2)
            throw new ArgumentException($"LstmLanguageModel expects token ids of shape [batch, time]; got [{string.Join(", ", ids.shape)}].", nameof(ids));
        var (output, h, c) = lstm.forward(embedding.forward(ids), state);
        return (head.forward(output), (h, c));
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor ids, Tensor targets)
    {
        using Tensor logits = forward(ids);
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.view(-1));
    }
}
