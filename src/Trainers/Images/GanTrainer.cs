using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>
/// Trains an MLP GAN (optionally class-conditional) with TorchSharp on a pixel column, exports the generator to ONNX
/// and returns a GenerateImages transformer that serves it through ONNX Runtime.
/// </summary>
/// <remarks>
/// | Column | Direction | Type |
/// | --- | --- | --- |
/// | PixelColumnName | training input | Vector&lt;Single, 784&gt; in [0, 1] |
/// | LabelColumnName | training input (conditional) | Key&lt;UInt32, ClassCount&gt; or Int32 |
/// | SeedColumnName | fitted transformer input | Int32 |
/// | LabelColumnName | fitted transformer input (conditional) | Int32 class |
/// | OutputColumnName | fitted transformer output | Vector&lt;Single, 784&gt; in [0, 1] |
/// The fitted transformer takes rows of seeds, not the training rows.
/// </remarks>
public sealed class GanTrainer : IEstimator<ITransformer>
{
    private readonly MLContext _mlContext;
    private readonly GanOptions _options;

    internal GanTrainer(MLContext mlContext, GanOptions options)
    {
        _mlContext = mlContext;
        _options = options;
        options.Validate();
    }

    /// <summary>Trains, exports the generator into <see cref="GanOptions.ModelFolder"/> and returns the GenerateImages transformer.</summary>
    public ITransformer Fit(IDataView input)
    {
        var result = Train(input);
        IDataView schemaOnly = ImageSchemaChecks.SeedRows(_mlContext, _options.SeedColumnName, _options.LabelColumnName);
        return _mlContext.Transforms.GenerateImages(new GenerateImagesOptions
        {
            ModelFolder = result.ModelFolder,
            SeedColumnName = _options.SeedColumnName,
            LabelColumnName = _options.LabelColumnName,
            OutputColumnName = _options.OutputColumnName,
        }).Fit(schemaOnly);
    }

    /// <summary>Trains and exports; returns the model folder and the run's figures.</summary>
    public ImageTrainingResult Train(IDataView input)
    {
        var o = _options;
        var (data, device) = TrainingLoop.Prepare(input, o, o.PixelColumnName, o.LabelColumnName, o.ClassCount);
        int classes = o.LabelColumnName is null ? 0 : o.ClassCount;
        using ImageGenerator generator = o.Architecture == GanArchitecture.Dcgan
            ? new DcganGenerator(o.LatentSize, classes, o.GeneratorChannels)
            : new MlpGenerator(o.LatentSize, data.Features, classes);
        using nn.Module<torch.Tensor, torch.Tensor?, torch.Tensor> discriminator = o.Architecture == GanArchitecture.Dcgan
            ? new DcganDiscriminator(classes, o.DiscriminatorConditioning)
            : new MlpDiscriminator(data.Features, classes);
        generator.to(device);
        discriminator.to(device);
        using var task = new GanTrainingTask(generator, discriminator, o.LearningRate, o.Beta1, o.Beta2, o.DiscriminatorLearningRate ?? o.LearningRate, o.RealLabel);
        using var channel = ((IHostEnvironment)_mlContext).Start(nameof(GanTrainer));
        var summary = TrainingLoop.Run(task, data, o, device, channel);

        generator.to(torch.CPU);
        generator.eval();
        Directory.CreateDirectory(o.ModelFolder);
        const string file = "generator.onnx";
        ImageModelExport.Generator(generator).Save(Path.Combine(o.ModelFolder, file));
        new ImageModelManifest
        {
            Kind = classes > 0 ? "ConditionalGan" : "Gan",
            Architecture = o.Architecture.ToString(),
            LatentSize = o.LatentSize,
            ClassCount = classes,
            GeneratorFile = file,
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
