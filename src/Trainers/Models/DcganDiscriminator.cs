using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Aigc.MLNet.Trainers.Images;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// DCGAN discriminator for 28×28 images: image → Conv 4/2/1 → 64×14×14 (LeakyReLU 0.2) → Conv 4/2/1 → 128×7×7 (BatchNorm,
/// LeakyReLU) → flatten → 1 logit. A conditional discriminator sees the class in one of two ways
/// (<see cref="DiscriminatorConditioning"/>): as one constant plane per class beside the image at the input, or as a
/// projection (Miyato and Koyama 2018) — the logit gains the inner product of a learned class embedding with the 128×7×7
/// features, so the network judges whether image and class agree without widening its first convolution eleven-fold.
/// </summary>
public sealed class DcganDiscriminator : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly Conv2d down1;
    private readonly Conv2d down2;
    private readonly BatchNorm2d down2Norm;
    private readonly Linear output;
    private readonly Embedding? classEmbedding;

    /// <summary>Creates the discriminator.</summary>
    /// <param name="classCount">Classes of a conditional discriminator (0: unconditional).</param>
    /// <param name="conditioning">Where a conditional discriminator takes the class in (ignored when unconditional).</param>
    public DcganDiscriminator(int classCount = 0, DiscriminatorConditioning conditioning = DiscriminatorConditioning.InputPlanes) : base(nameof(DcganDiscriminator))
    {
        if (!Enum.IsDefined(conditioning))
            throw new ArgumentOutOfRangeException(nameof(conditioning), conditioning, "conditioning must be InputPlanes or Projection.");
        ClassCount = classCount;
        Conditioning = classCount == 0 ? DiscriminatorConditioning.InputPlanes : conditioning;
        bool planes = classCount > 0 && Conditioning == DiscriminatorConditioning.InputPlanes;
        down1 = nn.Conv2d(planes ? 1 + classCount : 1, 64, 4, stride: 2, padding: 1);
        down2 = nn.Conv2d(64, 128, 4, stride: 2, padding: 1, bias: false);
        down2Norm = nn.BatchNorm2d(128);
        output = nn.Linear(FeatureCount, 1);
        if (classCount > 0 && Conditioning == DiscriminatorConditioning.Projection)
        {
            classEmbedding = nn.Embedding(classCount, FeatureCount);
            // The same scale as the output layer's weights (uniform ±1/√features), not Embedding's N(0, 1): the class
            // term starts as small as the unconditional logit instead of dwarfing it.
            using (no_grad())
                nn.init.uniform_(classEmbedding.weight, -1.0 / Math.Sqrt(FeatureCount), 1.0 / Math.Sqrt(FeatureCount));
        }
        RegisterComponents();
    }

    private const int FeatureCount = 128 * 7 * 7;

    /// <summary>Where the class enters (InputPlanes for an unconditional discriminator).</summary>
    public DiscriminatorConditioning Conditioning { get; }

    /// <summary>Classes of a conditional discriminator (0: unconditional).</summary>
    public int ClassCount { get; }

    /// <summary>Real-vs-fake logits [batch, 1] of images [batch, 784] in [-1, 1].</summary>
    public override Tensor forward(Tensor images, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        var h = images.reshape(-1, 1, 28, 28);
        if (classEmbedding is null)
            h = ClassConditioning.ConcatPlanes(h, labels, ClassCount);
        else if (labels is null)
            throw new ArgumentNullException(nameof(labels), $"This discriminator is conditional on {ClassCount} classes: labels are required.");
        h = nn.functional.leaky_relu(down1.forward(h), MlpGenerator.NegativeSlope);
        h = nn.functional.leaky_relu(down2Norm.forward(down2.forward(h)), MlpGenerator.NegativeSlope).flatten(1);
        var logit = output.forward(h);
        if (classEmbedding is not null)
            logit = logit + (classEmbedding.forward(labels!) * h).sum(1, keepdim: true);
        return logit.MoveToOuterDisposeScope();
    }
}
