using Aigc.MLNet.Trainers.Training;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>What a GAN or VAE training run produced: the exported model folder and the run's figures.</summary>
public sealed class ImageTrainingResult
{
    /// <summary>Folder with <c>model.json</c> and the ONNX files, ready for the image transforms.</summary>
    public required string ModelFolder { get; init; }

    /// <summary>Steps, losses, wall time and checkpoint of the run.</summary>
    public required TrainingRunSummary Summary { get; init; }
}
