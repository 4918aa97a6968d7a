namespace Aigc.MLNet.Transforms.Evaluation;

/// <summary>Options of <see cref="GenerativeEvaluationCatalog.EvaluateImages(Microsoft.ML.IDataView, Images.MnistClassifier, ImageEvaluationOptions)"/>.</summary>
public sealed class ImageEvaluationOptions
{
    /// <summary>Column of the generated images: Vector&lt;Single, 784&gt; with pixels in [0, 1] (default "Pixels").</summary>
    public string ImageColumnName { get; set; } = "Pixels";

    /// <summary>Real images to compare with for FID; null skips FID.</summary>
    public Microsoft.ML.IDataView? RealData { get; set; }

    /// <summary>Column of the real images, same type (default "Pixels").</summary>
    public string RealImageColumnName { get; set; } = "Pixels";

    /// <summary>Splits of the classifier score (default 10; at most the number of images).</summary>
    public int Splits { get; set; } = 10;
}

/// <summary>Column names of <see cref="GenerativeEvaluationCatalog.EvaluateVae(Microsoft.ML.IDataView, VaeEvaluationOptions)"/>.</summary>
public sealed class VaeEvaluationOptions
{
    /// <summary>Input images, Vector&lt;Single&gt; with targets in [0, 1] (default "Pixels").</summary>
    public string InputColumnName { get; set; } = "Pixels";

    /// <summary>Decoder output, same size as the input (default "Reconstruction").</summary>
    public string ReconstructionColumnName { get; set; } = "Reconstruction";

    /// <summary>True when the reconstruction column holds logits; false when it holds probabilities in [0, 1] (default).</summary>
    public bool ReconstructionIsLogits { get; set; }

    /// <summary>Encoder mean μ, Vector&lt;Single&gt; (default "Mean").</summary>
    public string MeanColumnName { get; set; } = "Mean";

    /// <summary>Encoder log-variance log σ², same size as the mean (default "LogVariance").</summary>
    public string LogVarianceColumnName { get; set; } = "LogVariance";
}
