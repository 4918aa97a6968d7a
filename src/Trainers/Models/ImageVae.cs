using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// Base of the variational autoencoders: Bernoulli decoder over pixels in [0, 1], Gaussian posterior, standard normal prior.
/// </summary>
public abstract class ImageVae : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the base with the module name and sizes.</summary>
    protected ImageVae(string name, int latentSize, int pixelCount) : base(name)
    {
        if (latentSize <= 0) throw new ArgumentOutOfRangeException(nameof(latentSize), latentSize, "latentSize must be positive.");
        LatentSize = latentSize;
        PixelCount = pixelCount;
    }

    /// <summary>Size of z.</summary>
    public int LatentSize { get; }

    /// <summary>Pixels per image.</summary>
    public int PixelCount { get; }

    /// <summary>Posterior mean and log-variance of <paramref name="pixels"/> ([batch, pixels] in [0, 1]).</summary>
    public abstract (Tensor Mean, Tensor LogVariance) Encode(Tensor pixels);

    /// <summary>Pixel logits [batch, pixels] for latent rows <paramref name="z"/>.</summary>
    public abstract Tensor DecodeLogits(Tensor z);

    /// <summary>Reconstruction logits through the posterior mean (no sampling).</summary>
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        return DecodeLogits(Encode(pixels).Mean).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Negative ELBO summed over the batch (BCE-sum + KL, nats) with one reparameterised sample per row, and its two parts.
    /// </summary>
    /// <param name="pixels">[batch, pixels] in [0, 1].</param>
    /// <param name="noise">Generator of the reparameterisation noise.</param>
    public (Tensor Total, Tensor Reconstruction, Tensor Kl) NegativeElbo(Tensor pixels, Generator? noise)
    {
        using var scope = NewDisposeScope();
        var (mean, logVariance) = Encode(pixels);
        var eps = randn(mean.shape, dtype: mean.dtype, device: mean.device, generator: noise);
        var z = mean + eps * (0.5 * logVariance).exp();
        var logits = DecodeLogits(z);
        var reconstruction = nn.functional.binary_cross_entropy_with_logits(logits, pixels, reduction: nn.Reduction.Sum);
        var kl = -0.5 * (1 + logVariance - mean.pow(2) - logVariance.exp()).sum();
        var total = reconstruction + kl;
        return (total.MoveToOuterDisposeScope(), reconstruction.MoveToOuterDisposeScope(), kl.MoveToOuterDisposeScope());
    }
}
