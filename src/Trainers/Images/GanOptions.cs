using Aigc.MLNet.Trainers.Training;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>Options of the MLP GAN trainer (<see cref="ImageTrainersCatalog.Gan(Aigc.MLNet.Transforms.GenerativeTrainers, GanOptions)"/>).</summary>
public sealed class GanOptions : GenerativeTrainerOptions
{
    /// <summary>Folder that receives <c>generator.onnx</c> and <c>model.json</c>; the fitted transformer refers to it by absolute path.</summary>
    public string ModelFolder { get; set; } = "";

    /// <summary>Network architecture: the MLP GAN (default) or a DCGAN for 28×28 images.</summary>
    public GanArchitecture Architecture { get; set; } = GanArchitecture.Mlp;

    /// <summary>Training pixel column: Vector&lt;Single, 784&gt; in [0, 1].</summary>
    public string PixelColumnName { get; set; } = "Pixels";

    /// <summary>Class column (Key&lt;UInt32, ClassCount&gt; or Int32) for a conditional GAN; null trains an unconditional GAN.</summary>
    public string? LabelColumnName { get; set; }

    /// <summary>Classes of a conditional GAN.</summary>
    public int ClassCount { get; set; } = 10;

    /// <summary>Size of the latent vector z.</summary>
    public int LatentSize { get; set; } = 100;

    /// <summary>Adam learning rate of both networks (DCGAN practice 2e-4; the seed scripts use 1e-4).</summary>
    public double LearningRate { get; set; } = 2e-4;

    /// <summary>Adam learning rate of the discriminator alone (null: <see cref="LearningRate"/>). A lower value than the
    /// generator's keeps a discriminator that wins too easily from starving the generator of gradient.</summary>
    public double? DiscriminatorLearningRate { get; set; }

    /// <summary>Target of real images in the discriminator loss: 1 (default) or less for one-sided label smoothing
    /// (Salimans et al. 2016 use 0.9); fake images keep target 0 and the generator's target stays 1.</summary>
    public double RealLabel { get; set; } = 1.0;

    /// <summary>Adam β1 (0.5 as in DCGAN).</summary>
    public double Beta1 { get; set; } = 0.5;

    /// <summary>Adam β2.</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>
    /// DCGAN only: channels of the generator's 7×7 feature map (an even number, default 128; the 14×14 map has half).
    /// The generator's first transposed convolution dominates a step's cost and grows with the square of this number.
    /// </summary>
    public int GeneratorChannels { get; set; } = Models.DcganGenerator.DefaultBaseChannels;

    /// <summary>
    /// Conditional DCGAN only: where the discriminator takes the class in — <see cref="Images.DiscriminatorConditioning.InputPlanes"/>
    /// (one constant plane per class beside the image) or <see cref="Images.DiscriminatorConditioning.Projection"/> (a class
    /// embedding projected onto the last features). The discriminator is not exported, so the choice changes training only.
    /// </summary>
    public DiscriminatorConditioning DiscriminatorConditioning { get; set; } = DiscriminatorConditioning.InputPlanes;

    /// <summary>Seed column of the fitted GenerateImages transformer (Int32).</summary>
    public string SeedColumnName { get; set; } = "Seed";

    /// <summary>Image column the fitted transformer writes.</summary>
    public string OutputColumnName { get; set; } = "Image";

    internal override void Validate()
    {
        base.Validate();
        if (string.IsNullOrWhiteSpace(ModelFolder)) throw new ArgumentException("ModelFolder must name the folder that receives the exported generator.", nameof(ModelFolder));
        if (LatentSize <= 0) throw new ArgumentOutOfRangeException(nameof(LatentSize), LatentSize, "LatentSize must be positive.");
        if (LabelColumnName is not null && ClassCount < 2) throw new ArgumentOutOfRangeException(nameof(ClassCount), ClassCount, "A conditional GAN needs ClassCount ≥ 2.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be positive.");
        if (DiscriminatorLearningRate is double dlr && !(dlr > 0)) throw new ArgumentOutOfRangeException(nameof(DiscriminatorLearningRate), dlr, "DiscriminatorLearningRate must be positive when set.");
        if (!(RealLabel > 0.5 && RealLabel <= 1)) throw new ArgumentOutOfRangeException(nameof(RealLabel), RealLabel, "RealLabel must be in (0.5, 1].");
        if (Beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "Beta1 must be in [0, 1).");
        if (Beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "Beta2 must be in [0, 1).");
        if (GeneratorChannels < 2 || GeneratorChannels % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(GeneratorChannels), GeneratorChannels, "GeneratorChannels must be an even number of at least 2.");
        if (!Enum.IsDefined(DiscriminatorConditioning))
            throw new ArgumentOutOfRangeException(nameof(DiscriminatorConditioning), DiscriminatorConditioning, "DiscriminatorConditioning must be InputPlanes or Projection.");
    }
}
