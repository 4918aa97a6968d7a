using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// MLP GAN discriminator: pixels in [-1, 1] (+ one-hot class when conditional) → 512 → 256 → 1 logit,
/// LeakyReLU(0.2) between layers (the sigmoid is folded into the BCE-with-logits loss).
/// </summary>
public sealed class MlpDiscriminator : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly ModuleList<Linear> layers;

    /// <summary>Creates the discriminator.</summary>
    /// <param name="pixelCount">Pixels per image.</param>
    /// <param name="classCount">Classes of a conditional discriminator (0: unconditional).</param>
    /// <param name="hidden">Hidden widths (default 512, 256).</param>
    public MlpDiscriminator(int pixelCount = 784, int classCount = 0, int[]? hidden = null) : base(nameof(MlpDiscriminator))
    {
        ClassCount = classCount;
        hidden ??= [512, 256];
        layers = new ModuleList<Linear>();
        int input = pixelCount + classCount;
        foreach (int width in hidden.Append(1))
        {
            layers.Add(nn.Linear(input, width));
            input = width;
        }
        RegisterComponents();
    }

    /// <summary>Classes of a conditional discriminator (0: unconditional).</summary>
    public int ClassCount { get; }

    /// <summary>Real-vs-fake logits, [batch, 1].</summary>
    /// <param name="images">[batch, pixels] in [-1, 1].</param>
    /// <param name="labels">[batch] int64 classes when conditional, else null.</param>
    public override Tensor forward(Tensor images, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        Tensor h = ClassConditioning.Concat(images, labels, ClassCount);
        for (int i = 0; i < layers.Count; i++)
        {
            h = layers[i].forward(h);
            if (i < layers.Count - 1) h = nn.functional.leaky_relu(h, MlpGenerator.NegativeSlope);
        }
        return h.MoveToOuterDisposeScope();
    }
}
