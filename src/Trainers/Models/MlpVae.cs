using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// MLP variational autoencoder (pytorch/examples layout): encoder pixels → 400 (ReLU) → mean, log-variance;
/// decoder z → 400 (ReLU) → pixel logits (sigmoid gives Bernoulli means).
/// </summary>
public sealed class MlpVae : ImageVae
{
    private readonly Linear fc1;
    private readonly Linear fc21;
    private readonly Linear fc22;
    private readonly Linear fc3;
    private readonly Linear fc4;

    /// <summary>Creates the VAE.</summary>
    /// <param name="latentSize">Size of z (default 20).</param>
    /// <param name="pixelCount">Pixels per image.</param>
    /// <param name="hiddenSize">Width of the hidden layers (default 400).</param>
    public MlpVae(int latentSize = 20, int pixelCount = 784, int hiddenSize = 400) : base(nameof(MlpVae), latentSize, pixelCount)
    {
        fc1 = nn.Linear(pixelCount, hiddenSize);
        fc21 = nn.Linear(hiddenSize, latentSize);
        fc22 = nn.Linear(hiddenSize, latentSize);
        fc3 = nn.Linear(latentSize, hiddenSize);
        fc4 = nn.Linear(hiddenSize, pixelCount);
        RegisterComponents();
    }

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
        var mean = fc21.forward(h);
        var logVariance = fc22.forward(h);
        return (mean.MoveToOuterDisposeScope(), logVariance.MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    public override Tensor DecodeLogits(Tensor z)
    {
        using var scope = NewDisposeScope();
        return fc4.forward(nn.functional.relu(fc3.forward(z))).MoveToOuterDisposeScope();
    }
}
