using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// MLP GAN generator: z (+ one-hot class when conditional) → 256 → 512 → 1024 → pixels, LeakyReLU(0.2) between
/// layers and Tanh at the end (images in [-1, 1]).
/// </summary>
public sealed class MlpGenerator : ImageGenerator
{
    /// <summary>Slope of the LeakyReLU activations.</summary>
    public const double NegativeSlope = 0.2;

    private readonly ModuleList<Linear> layers;

    /// <summary>Creates the generator.</summary>
    /// <param name="latentSize">Size of z.</param>
    /// <param name="pixelCount">Pixels per image.</param>
    /// <param name="classCount">Classes of a conditional generator (0: unconditional).</param>
    /// <param name="hidden">Hidden widths (default 256, 512, 1024).</param>
    public MlpGenerator(int latentSize, int pixelCount = 784, int classCount = 0, int[]? hidden = null)
        : base(nameof(MlpGenerator), latentSize, pixelCount, classCount)
    {
        hidden ??= [256, 512, 1024];
        layers = new ModuleList<Linear>();
        int input = latentSize + classCount;
        foreach (int width in hidden.Append(pixelCount))
        {
            layers.Add(nn.Linear(input, width));
            input = width;
        }
        RegisterComponents();
    }

    /// <summary>The linear layers in order.</summary>
    public IReadOnlyList<Linear> Layers => layers.ToList();

    /// <summary>Images in [-1, 1], [batch, pixels].</summary>
    /// <param name="z">[batch, LatentSize].</param>
    /// <param name="labels">[batch] int64 classes when conditional, else null.</param>
    public override Tensor forward(Tensor z, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        Tensor h = ClassConditioning.Concat(z, labels, ClassCount);
        for (int i = 0; i < layers.Count; i++)
        {
            h = layers[i].forward(h);
            h = i < layers.Count - 1 ? nn.functional.leaky_relu(h, NegativeSlope) : h.tanh();
        }
        return h.MoveToOuterDisposeScope();
    }
}
