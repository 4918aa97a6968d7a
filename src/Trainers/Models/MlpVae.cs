using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// MLP variational autoencoder (pytorch/examples layout): encoder pixels → 400 (ReLU) → mean, log-variance;
/// decoder z → 400 (ReLU) → pixel logits (sigmoid gives Bernoulli means). With <c>hiddenLayers</c> &gt; 1 both the
/// encoder and the decoder get that many hidden ReLU layers of the same width.
/// </summary>
public sealed class MlpVae : ImageVae
{
    private readonly Linear fc1;
    private readonly Linear fc21;
    private readonly Linear fc22;
    private readonly Linear fc3;
    private readonly Linear fc4;
    private readonly ModuleList<Linear> encoderDeep;
    private readonly ModuleList<Linear> decoderDeep;

    /// <summary>Creates the VAE.</summary>
    /// <param name="latentSize">Size of z (default 20).</param>
    /// <param name="pixelCount">Pixels per image.</param>
    /// <param name="hiddenSize">Width of the hidden layers (default 400).</param>
    /// <param name="hiddenLayers">Hidden layers of the encoder and of the decoder each (default 1).</param>
    public MlpVae(int latentSize = 20, int pixelCount = 784, int hiddenSize = 400, int hiddenLayers = 1) : base(nameof(MlpVae), latentSize, pixelCount)
    {
        if (hiddenLayers < 1) throw new ArgumentOutOfRangeException(nameof(hiddenLayers), hiddenLayers, "hiddenLayers must be at least 1.");
        HiddenLayers = hiddenLayers;
        fc1 = nn.Linear(pixelCount, hiddenSize);
        // Extra layers sit in lists that stay empty (no parameters, same state dict) for the one-layer default.
        encoderDeep = nn.ModuleList(Enumerable.Range(0, hiddenLayers - 1).Select(_ => nn.Linear(hiddenSize, hiddenSize)).ToArray());
        fc21 = nn.Linear(hiddenSize, latentSize);
        fc22 = nn.Linear(hiddenSize, latentSize);
        fc3 = nn.Linear(latentSize, hiddenSize);
        decoderDeep = nn.ModuleList(Enumerable.Range(0, hiddenLayers - 1).Select(_ => nn.Linear(hiddenSize, hiddenSize)).ToArray());
        fc4 = nn.Linear(hiddenSize, pixelCount);
        RegisterComponents();
    }

    /// <summary>Hidden layers of the encoder and of the decoder each.</summary>
    public int HiddenLayers { get; }

    /// <summary>Encoder hidden layers after the first (empty for one hidden layer).</summary>
    public IReadOnlyList<Linear> EncoderDeepLayers => [.. encoderDeep];

    /// <summary>Decoder hidden layers after the first (empty for one hidden layer).</summary>
    public IReadOnlyList<Linear> DecoderDeepLayers => [.. decoderDeep];

    /// <summary>Encoder hidden layer.</summary>
    public Linear EncoderHidden => fc1;

    /// <summary>Encoder mean head.</summary>
    public Linear EncoderMean => fc21;

    /// <summary>Encoder log-variance head.</summary>
    public Linear EncoderLogVariance => fc22;

    /// <summary>Decoder hidden layer.</summary>
    public Linear DecoderHidden => fc3;

    /// <summary>Decoder output layer (logits).</summary>
    public Linear DecoderOutput => fc4;

    /// <inheritdoc/>
    public override (Tensor Mean, Tensor LogVariance) Encode(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(fc1.forward(pixels));
        foreach (var layer in encoderDeep) h = nn.functional.relu(layer.forward(h));
        var mean = fc21.forward(h);
        var logVariance = fc22.forward(h);
        return (mean.MoveToOuterDisposeScope(), logVariance.MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    public override Tensor DecodeLogits(Tensor z)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(fc3.forward(z));
        foreach (var layer in decoderDeep) h = nn.functional.relu(layer.forward(h));
        return fc4.forward(h).MoveToOuterDisposeScope();
    }
}
