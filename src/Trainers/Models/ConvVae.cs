using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// Convolutional VAE for 28×28 images. Encoder: Conv 4/2/1 → 32×14×14 → Conv 4/2/1 → 64×7×7 → Linear 256 (ReLU
/// throughout) → mean, log-variance. Decoder: Linear 256 → Linear 64×7×7 → ConvTranspose → 32×14×14 → ConvTranspose →
/// 1×28×28 logits.
/// </summary>
public sealed class ConvVae : ImageVae
{
    private readonly Conv2d enc1;
    private readonly Conv2d enc2;
    private readonly Linear encHidden;
    private readonly Linear encMean;
    private readonly Linear encLogVariance;
    private readonly Linear decHidden;
    private readonly Linear decProject;
    private readonly ConvTranspose2d dec1;
    private readonly ConvTranspose2d dec2;

    /// <summary>Creates the VAE.</summary>
    /// <param name="latentSize">Size of z.</param>
    /// <param name="hiddenSize">Width of the dense hidden layers.</param>
    public ConvVae(int latentSize = 20, int hiddenSize = 256) : base(nameof(ConvVae), latentSize, 784)
    {
        enc1 = nn.Conv2d(1, 32, 4, stride: 2, padding: 1);
        enc2 = nn.Conv2d(32, 64, 4, stride: 2, padding: 1);
        encHidden = nn.Linear(64 * 7 * 7, hiddenSize);
        encMean = nn.Linear(hiddenSize, latentSize);
        encLogVariance = nn.Linear(hiddenSize, latentSize);
        decHidden = nn.Linear(latentSize, hiddenSize);
        decProject = nn.Linear(hiddenSize, 64 * 7 * 7);
        dec1 = nn.ConvTranspose2d(64, 32, 4, stride: 2, padding: 1);
        dec2 = nn.ConvTranspose2d(32, 1, 4, stride: 2, padding: 1);
        RegisterComponents();
    }

    /// <summary>Encoder convolutions.</summary>
    public (Conv2d First, Conv2d Second) EncoderConvolutions => (enc1, enc2);

    /// <summary>Encoder dense layers.</summary>
    public (Linear Hidden, Linear Mean, Linear LogVariance) EncoderDense => (encHidden, encMean, encLogVariance);

    /// <summary>Decoder dense layers.</summary>
    public (Linear Hidden, Linear Project) DecoderDense => (decHidden, decProject);

    /// <summary>Decoder transposed convolutions.</summary>
    public (ConvTranspose2d First, ConvTranspose2d Second) DecoderConvolutions => (dec1, dec2);

    /// <inheritdoc/>
    public override (Tensor Mean, Tensor LogVariance) Encode(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(enc1.forward(pixels.reshape(-1, 1, 28, 28)));
        h = nn.functional.relu(enc2.forward(h)).flatten(1);
        h = nn.functional.relu(encHidden.forward(h));
        return (encMean.forward(h).MoveToOuterDisposeScope(), encLogVariance.forward(h).MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    public override Tensor DecodeLogits(Tensor z)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(decHidden.forward(z));
        h = nn.functional.relu(decProject.forward(h)).reshape(-1, 64, 7, 7);
        h = nn.functional.relu(dec1.forward(h));
        return dec2.forward(h).reshape(-1, PixelCount).MoveToOuterDisposeScope();
    }
}
