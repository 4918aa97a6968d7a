using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Diffusion;

/// <summary>
/// Trains a DDPM (U-Net ε-predictor, optionally class-conditional with classifier-free guidance) with TorchSharp on a
/// pixel column, exports the denoiser (EMA weights) to ONNX and returns a GenerateImages transformer whose sampling
/// loop (DDIM or DDPM) runs over ONNX Runtime.
/// </summary>
/// <remarks>
/// | Column | Direction | Type |
/// | --- | --- | --- |
/// | PixelColumnName | training input | Vector&lt;Single, 784&gt; in [0, 1] |
/// | LabelColumnName | training input (conditional) | Key&lt;UInt32, ClassCount&gt; or Int32 |
/// | SeedColumnName | fitted transformer input | Int32 |
/// | LabelColumnName | fitted transformer input (conditional) | Int32 class |
/// | OutputColumnName | fitted transformer output | Vector&lt;Single, 784&gt; in [0, 1] |
/// The fitted transformer takes rows of seeds, not the training rows. Checkpoints, resume, the NaN guard, cancellation
/// and progress are those of the shared training loop (loss name "Mse").
/// </remarks>
public sealed class DiffusionTrainer : IEstimator<ITransformer>
{
    /// <summary>File name of the exported denoiser inside the model folder.</summary>
    public const string DenoiserFileName = "denoiser.onnx";

    private readonly MLContext _mlContext;
    private readonly DiffusionOptions _options;

    internal DiffusionTrainer(MLContext mlContext, DiffusionOptions options)
    {
        _mlContext = mlContext;
        _options = options;
        options.Validate();
    }

    /// <summary>Trains, exports the denoiser into <see cref="DiffusionOptions.ModelFolder"/> and returns the GenerateImages transformer.</summary>
    public ITransformer Fit(IDataView input)
    {
        var result = Train(input);
        var o = _options;
        IDataView schemaOnly = ImageSchemaChecks.SeedRows(_mlContext, o.SeedColumnName, o.LabelColumnName);
        return _mlContext.Transforms.GenerateImages(new GenerateImagesOptions
        {
            ModelFolder = result.ModelFolder,
            SeedColumnName = o.SeedColumnName,
            LabelColumnName = o.LabelColumnName,
            OutputColumnName = o.OutputColumnName,
            Sampler = o.Sampler,
            SamplingSteps = o.SamplingSteps,
            Eta = o.Eta,
            GuidanceScale = o.GuidanceScale,
        }).Fit(schemaOnly);
    }

    /// <summary>Trains and exports; returns the model folder and the run's figures.</summary>
    public ImageTrainingResult Train(IDataView input)
    {
        var o = _options;
        var (data, device) = TrainingLoop.Prepare(input, o, o.PixelColumnName, o.LabelColumnName, o.ClassCount);
        int classes = o.LabelColumnName is null ? 0 : o.ClassCount;
        var schedule = o.CreateSchedule();
        using var model = new DiffusionUNet(o.BaseChannels, o.Timesteps, classes);
        model.to(device);
        using var ema = o.EmaDecay > 0 ? new DiffusionEma(model, o.EmaDecay) : null;
        ema?.to(device);
        using var task = new DiffusionTrainingTask(model, ema, schedule, o.LearningRate, classes > 0 ? o.LabelDropout : 0, o.GradientClipNorm, device);
        using var channel = ((IHostEnvironment)_mlContext).Start(nameof(DiffusionTrainer));
        var summary = TrainingLoop.Run(task, data, o, device, channel);

        var exported = ema?.Average ?? model;
        exported.to(torch.CPU);
        exported.eval();
        Directory.CreateDirectory(o.ModelFolder);
        DiffusionModelExport.Denoiser(exported).Save(Path.Combine(o.ModelFolder, DenoiserFileName));
        new ImageModelManifest
        {
            Kind = classes > 0 ? "ConditionalDiffusion" : "Diffusion",
            Architecture = $"UNet{o.BaseChannels}",
            LatentSize = ImageTransformsCatalog.MnistPixelCount,
            ClassCount = classes,
            DenoiserFile = DenoiserFileName,
            Timesteps = o.Timesteps,
            NoiseSchedule = o.NoiseSchedule.ToString(),
            BetaStart = o.BetaStart,
            BetaEnd = o.BetaEnd,
        }.Save(o.ModelFolder);
        return new ImageTrainingResult { ModelFolder = Path.GetFullPath(o.ModelFolder), Summary = summary };
    }

    /// <summary>Checks the training columns; the fitted transformer's schema depends on seed rows, so the input shape is returned.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ImageSchemaChecks.RequireTrainingColumns(inputSchema, _options.PixelColumnName, _options.LabelColumnName);
        return inputSchema;
    }
}
