using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>Base of the GAN generators: z [batch, LatentSize] (+ int64 labels when conditional) → images [batch, PixelCount] in [-1, 1].</summary>
public abstract class ImageGenerator : nn.Module<Tensor, Tensor?, Tensor>
{
    /// <summary>Creates the base with the module name and sizes.</summary>
    protected ImageGenerator(string name, int latentSize, int pixelCount, int classCount) : base(name)
    {
        if (latentSize <= 0) throw new ArgumentOutOfRangeException(nameof(latentSize), latentSize, "latentSize must be positive.");
        if (classCount < 0) throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "classCount must be 0 (unconditional) or positive.");
        LatentSize = latentSize;
        PixelCount = pixelCount;
        ClassCount = classCount;
    }

    /// <summary>Size of z.</summary>
    public int LatentSize { get; }

    /// <summary>Pixels per image.</summary>
    public int PixelCount { get; }

    /// <summary>Classes of a conditional generator (0: unconditional).</summary>
    public int ClassCount { get; }
}
