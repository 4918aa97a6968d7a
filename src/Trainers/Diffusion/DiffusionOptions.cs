using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms.Images;

namespace Aigc.MLNet.Trainers.Diffusion;

/// <summary>Options of the DDPM trainer (<see cref="DiffusionTrainersCatalog.Diffusion(Aigc.MLNet.Transforms.GenerativeTrainers, DiffusionOptions)"/>).</summary>
public sealed class DiffusionOptions : GenerativeTrainerOptions
{
    /// <summary>Folder that receives <c>denoiser.onnx</c> and <c>model.json</c>; the fitted transformer refers to it by absolute path.</summary>
    public string ModelFolder { get; set; } = "";

    /// <summary>Training pixel column: Vector&lt;Single, 784&gt; in [0, 1] (scaled to [-1, 1] for the model).</summary>
    public string PixelColumnName { get; set; } = "Pixels";

    /// <summary>Class column (Key&lt;UInt32, ClassCount&gt; or Int32) for a class-conditional model with classifier-free guidance; null trains an unconditional model.</summary>
    public string? LabelColumnName { get; set; }

    /// <summary>Classes of a conditional model.</summary>
    public int ClassCount { get; set; } = 10;

    /// <summary>Probability of replacing a label by the "no class" token while training (classifier-free guidance); conditional models only.</summary>
    public double LabelDropout { get; set; } = 0.1;

    /// <summary>U-Net base channels C (a positive multiple of 8); widths are C, 2C, 2C at 28, 14, 7 pixels.</summary>
    public int BaseChannels { get; set; } = 32;

    /// <summary>Diffusion steps T.</summary>
    public int Timesteps { get; set; } = Transforms.Images.NoiseSchedule.DefaultTimesteps;

    /// <summary>Noise schedule shape.</summary>
    public NoiseScheduleKind NoiseSchedule { get; set; } = NoiseScheduleKind.Linear;

    /// <summary>First β of the linear schedule at T = 1000 (scaled by 1000 / T).</summary>
    public double BetaStart { get; set; } = Transforms.Images.NoiseSchedule.DefaultBetaStart;

    /// <summary>Last β of the linear schedule at T = 1000 (scaled by 1000 / T).</summary>
    public double BetaEnd { get; set; } = Transforms.Images.NoiseSchedule.DefaultBetaEnd;

    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; set; } = 2e-4;

    /// <summary>Gradient-norm clipping threshold (0 disables).</summary>
    public double GradientClipNorm { get; set; } = 1.0;

    /// <summary>Decay of the exponential moving average of the weights that is exported (0: export the raw weights). The
    /// effective decay warms up as min(decay, (1 + n) / (10 + n)) over the n updates.</summary>
    public double EmaDecay { get; set; } = 0.999;

    /// <summary>Seed column of the fitted GenerateImages transformer (Int32).</summary>
    public string SeedColumnName { get; set; } = "Seed";

    /// <summary>Image column the fitted transformer writes.</summary>
    public string OutputColumnName { get; set; } = "Image";

    /// <summary>Sampler of the fitted transformer.</summary>
    public DiffusionSamplerKind Sampler { get; set; } = DiffusionSamplerKind.Ddim;

    /// <summary>DDIM steps of the fitted transformer (1..T).</summary>
    public int SamplingSteps { get; set; } = 50;

    /// <summary>DDIM η of the fitted transformer.</summary>
    public double Eta { get; set; }

    /// <summary>Classifier-free guidance scale of the fitted transformer (conditional models; 1 = plain conditional).</summary>
    public double GuidanceScale { get; set; } = 1;

    internal override void Validate()
    {
        base.Validate();
        if (string.IsNullOrWhiteSpace(ModelFolder)) throw new ArgumentException("ModelFolder must name the folder that receives the exported denoiser.", nameof(ModelFolder));
        if (Timesteps <= 0) throw new ArgumentOutOfRangeException(nameof(Timesteps), Timesteps, "Timesteps (T) must be positive.");
        if (BaseChannels <= 0 || BaseChannels % 8 != 0) throw new ArgumentOutOfRangeException(nameof(BaseChannels), BaseChannels, "BaseChannels must be a positive multiple of 8 (GroupNorm uses 8 groups).");
        if (LabelColumnName is not null && ClassCount < 2) throw new ArgumentOutOfRangeException(nameof(ClassCount), ClassCount, "A conditional diffusion model needs ClassCount ≥ 2.");
        if (LabelDropout is < 0 or >= 1 || double.IsNaN(LabelDropout)) throw new ArgumentOutOfRangeException(nameof(LabelDropout), LabelDropout, "LabelDropout must be in [0, 1).");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be positive.");
        if (GradientClipNorm < 0 || double.IsNaN(GradientClipNorm)) throw new ArgumentOutOfRangeException(nameof(GradientClipNorm), GradientClipNorm, "GradientClipNorm must be ≥ 0 (0 disables clipping).");
        if (EmaDecay is < 0 or >= 1 || double.IsNaN(EmaDecay)) throw new ArgumentOutOfRangeException(nameof(EmaDecay), EmaDecay, "EmaDecay must be in [0, 1).");
        _ = CreateSchedule(); // β bounds
        DiffusionSampler.Validate(Timesteps, Sampler, Sampler == DiffusionSamplerKind.Ddim ? SamplingSteps : Timesteps, Eta);
        if (!double.IsFinite(GuidanceScale) || GuidanceScale < 0)
            throw new ArgumentOutOfRangeException(nameof(GuidanceScale), GuidanceScale, "GuidanceScale must be a finite value ≥ 0.");
        if (LabelColumnName is null && GuidanceScale != 1)
            throw new ArgumentException($"GuidanceScale {GuidanceScale} needs a class-conditional model: set LabelColumnName (or keep GuidanceScale = 1).", nameof(GuidanceScale));
    }

    internal NoiseSchedule CreateSchedule() => new(NoiseSchedule, Timesteps, BetaStart, BetaEnd);
}
