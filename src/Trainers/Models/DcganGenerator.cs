using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// DCGAN generator for 28×28 images: z (+ one-hot class) → Linear → C×7×7 (BatchNorm, ReLU) →
/// ConvTranspose 4/2/1 → C/2×14×14 (BatchNorm, ReLU) → ConvTranspose 4/2/1 → 1×28×28 → Tanh, flattened to [batch, 784];
/// C = <see cref="BaseChannels"/> (128 by default).
/// </summary>
public sealed class DcganGenerator : ImageGenerator
{
    /// <summary>Default channels of the 7×7 feature map.</summary>
    public const int DefaultBaseChannels = 128;

    /// <summary>Channels of the 7×7 feature map (the 14×14 map has half as many).</summary>
    public int BaseChannels { get; }

    private readonly Linear project;
    private readonly BatchNorm1d projectNorm;
    private readonly ConvTranspose2d up1;
    private readonly BatchNorm2d up1Norm;
    private readonly ConvTranspose2d up2;

    /// <summary>Creates the generator.</summary>
    /// <param name="latentSize">Size of z.</param>
    /// <param name="classCount">Classes of a conditional generator (0: unconditional).</param>
    /// <param name="baseChannels">Channels of the 7×7 feature map: an even number, at least 2.</param>
    public DcganGenerator(int latentSize, int classCount = 0, int baseChannels = DefaultBaseChannels) : base(nameof(DcganGenerator), latentSize, 784, classCount)
    {
        if (baseChannels < 2 || baseChannels % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(baseChannels), baseChannels, "The DCGAN generator's base channels must be an even number of at least 2.");
        BaseChannels = baseChannels;
        project = nn.Linear(latentSize + classCount, BaseChannels * 7 * 7, hasBias: false);
        projectNorm = nn.BatchNorm1d(BaseChannels * 7 * 7);
        up1 = nn.ConvTranspose2d(BaseChannels, BaseChannels / 2, 4, stride: 2, padding: 1, bias: false);
        up1Norm = nn.BatchNorm2d(BaseChannels / 2);
        up2 = nn.ConvTranspose2d(BaseChannels / 2, 1, 4, stride: 2, padding: 1);
        RegisterComponents();
    }

    /// <summary>Projection of z to the 7×7 map.</summary>
    public Linear Project => project;

    /// <summary>Batch norm after the projection.</summary>
    public BatchNorm1d ProjectNorm => projectNorm;

    /// <summary>First up-sampling (7 → 14).</summary>
    public ConvTranspose2d Up1 => up1;

    /// <summary>Batch norm after the first up-sampling.</summary>
    public BatchNorm2d Up1Norm => up1Norm;

    /// <summary>Second up-sampling (14 → 28), one channel.</summary>
    public ConvTranspose2d Up2 => up2;

    /// <summary>Images in [-1, 1], [batch, 784].</summary>
    public override Tensor forward(Tensor z, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(projectNorm.forward(project.forward(ClassConditioning.Concat(z, labels, ClassCount))));
        h = h.reshape(-1, BaseChannels, 7, 7);
        h = nn.functional.relu(up1Norm.forward(up1.forward(h)));
        h = up2.forward(h).tanh();
        return h.reshape(-1, PixelCount).MoveToOuterDisposeScope();
    }
}
