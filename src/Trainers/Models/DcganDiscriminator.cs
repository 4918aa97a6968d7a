using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// DCGAN discriminator for 28×28 images: (image + one constant plane per class when conditional) → Conv 4/2/1 → 64×14×14
/// (LeakyReLU 0.2) → Conv 4/2/1 → 128×7×7 (BatchNorm, LeakyReLU) → flatten → 1 logit. The class enters at the input so
/// the discriminator can judge whether image and class agree (a class term added only at the output could not).
/// </summary>
public sealed class DcganDiscriminator : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly Conv2d down1;
    private readonly Conv2d down2;
    private readonly BatchNorm2d down2Norm;
    private readonly Linear output;

    /// <summary>Creates the discriminator.</summary>
    /// <param name="classCount">Classes of a conditional discriminator (0: unconditional).</param>
    public DcganDiscriminator(int classCount = 0) : base(nameof(DcganDiscriminator))
    {
        ClassCount = classCount;
        down1 = nn.Conv2d(1 + classCount, 64, 4, stride: 2, padding: 1);
        down2 = nn.Conv2d(64, 128, 4, stride: 2, padding: 1, bias: false);
        down2Norm = nn.BatchNorm2d(128);
        output = nn.Linear(128 * 7 * 7, 1);
        RegisterComponents();
    }

    /// <summary>Classes of a conditional discriminator (0: unconditional).</summary>
    public int ClassCount { get; }

    /// <summary>Real-vs-fake logits [batch, 1] of images [batch, 784] in [-1, 1].</summary>
    public override Tensor forward(Tensor images, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        var h = ClassConditioning.ConcatPlanes(images.reshape(-1, 1, 28, 28), labels, ClassCount);
        h = nn.functional.leaky_relu(down1.forward(h), MlpGenerator.NegativeSlope);
        h = nn.functional.leaky_relu(down2Norm.forward(down2.forward(h)), MlpGenerator.NegativeSlope);
        return output.forward(h.flatten(1)).MoveToOuterDisposeScope();
    }
}
