using Aigc.MLNet.Trainers.Training;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>Options of the MLP VAE trainer (<see cref="ImageTrainersCatalog.Vae(Aigc.MLNet.Transforms.GenerativeTrainers, VaeOptions)"/>).</summary>
public sealed class VaeOptions : GenerativeTrainerOptions
{
    /// <summary>Creates options with the pytorch/examples defaults (batch 128, Adam 1e-3, latent 20).</summary>
    public VaeOptions() => BatchSize = 128;

    /// <summary>Folder that receives <c>encoder.onnx</c>, <c>decoder.onnx</c> and <c>model.json</c>; the fitted transformer refers to it by absolute path.</summary>
    public string ModelFolder { get; set; } = "";

    /// <summary>Network architecture: the MLP VAE (default, 784-HiddenSize-latent) or a convolutional VAE for 28×28 images.</summary>
    public VaeArchitecture Architecture { get; set; } = VaeArchitecture.Mlp;

    /// <summary>Training pixel column: Vector&lt;Single, 784&gt; in [0, 1].</summary>
    public string PixelColumnName { get; set; } = "Pixels";

    /// <summary>Size of the latent vector z.</summary>
    public int LatentSize { get; set; } = 20;

    /// <summary>Width of the dense hidden layers (400 suits the MLP VAE; the convolutional VAE commonly uses 256).</summary>
    public int HiddenSize { get; set; } = 400;

    /// <summary>Hidden layers of the MLP encoder and of the MLP decoder each (1: the pytorch/examples layout).</summary>
    public int HiddenLayers { get; set; } = 1;

    /// <summary>Learning-rate schedule over the run (<see cref="Images.LearningRateSchedule.Constant"/> or a cosine decay to zero).</summary>
    public LearningRateSchedule LearningRateSchedule { get; set; } = LearningRateSchedule.Constant;

    /// <summary>Epochs over which the KL term's weight in the training loss rises linearly from 0 to 1 (0: none). The
    /// reported losses, the exported model and the evaluation metric stay the full BCE-sum + KL.</summary>
    public double KlWarmupEpochs { get; set; }

    /// <summary>Adam learning rate (the peak of a schedule).</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Posterior mean column of the fitted transformer.</summary>
    public string MeanColumnName { get; set; } = "LatentMean";

    /// <summary>Posterior log-variance column of the fitted transformer.</summary>
    public string LogVarianceColumnName { get; set; } = "LatentLogVariance";

    /// <summary>Reconstruction column of the fitted transformer.</summary>
    public string ReconstructionColumnName { get; set; } = "Reconstruction";

    internal override void Validate()
    {
        base.Validate();
        if (string.IsNullOrWhiteSpace(ModelFolder)) throw new ArgumentException("ModelFolder must name the folder that receives the exported encoder and decoder.", nameof(ModelFolder));
        if (LatentSize <= 0) throw new ArgumentOutOfRangeException(nameof(LatentSize), LatentSize, "LatentSize must be positive.");
        if (HiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, "HiddenSize must be positive.");
        if (HiddenLayers < 1) throw new ArgumentOutOfRangeException(nameof(HiddenLayers), HiddenLayers, "HiddenLayers must be at least 1.");
        if (HiddenLayers > 1 && Architecture != VaeArchitecture.Mlp) throw new ArgumentOutOfRangeException(nameof(HiddenLayers), HiddenLayers, "HiddenLayers > 1 applies to the MLP VAE only.");
        if (!Enum.IsDefined(LearningRateSchedule)) throw new ArgumentOutOfRangeException(nameof(LearningRateSchedule), LearningRateSchedule, "Unknown LearningRateSchedule.");
        if (!(KlWarmupEpochs >= 0 && KlWarmupEpochs <= Epochs)) throw new ArgumentOutOfRangeException(nameof(KlWarmupEpochs), KlWarmupEpochs, "KlWarmupEpochs must be in [0, Epochs].");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be positive.");
    }
}
