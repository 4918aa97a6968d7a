using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>
/// Trains an MLP VAE (784-400-latent, BCE-sum + KL) with TorchSharp, exports encoder and decoder to ONNX and returns
/// a transformer computing the latent posterior and the reconstruction through ONNX Runtime.
/// </summary>
/// <remarks>
/// | Column | Direction | Type |
/// | --- | --- | --- |
/// | PixelColumnName | input | Vector&lt;Single, 784&gt; in [0, 1] |
/// | MeanColumnName | output | Vector&lt;Single, LatentSize&gt; |
/// | LogVarianceColumnName | output | Vector&lt;Single, LatentSize&gt; |
/// | ReconstructionColumnName | output | Vector&lt;Single, 784&gt; in [0, 1] |
/// Decode latent vectors with <c>mlContext.Transforms.DecodeLatent(result.ModelFolder)</c>.
/// </remarks>
public sealed class VaeTrainer : IEstimator<ITransformer>
{
    private readonly MLContext _mlContext;
    private readonly VaeOptions _options;

    internal VaeTrainer(MLContext mlContext, VaeOptions options)
    {
        _mlContext = mlContext;
        _options = options;
        options.Validate();
    }

    /// <summary>Trains, exports into <see cref="VaeOptions.ModelFolder"/> and returns the EncodeLatent + Reconstruct transformer.</summary>
    public ITransformer Fit(IDataView input)
    {
        var result = Train(input);
        var o = _options;
        return _mlContext.Transforms.EncodeLatent(new EncodeLatentOptions
        {
            ModelFolder = result.ModelFolder, InputColumnName = o.PixelColumnName, MeanColumnName = o.MeanColumnName, LogVarianceColumnName = o.LogVarianceColumnName,
        }).Append(_mlContext.Transforms.Reconstruct(new ReconstructOptions
        {
            ModelFolder = result.ModelFolder, InputColumnName = o.PixelColumnName, OutputColumnName = o.ReconstructionColumnName,
        })).Fit(input);
    }

    /// <summary>Trains and exports; returns the model folder and the run's figures.</summary>
    public ImageTrainingResult Train(IDataView input)
    {
        var o = _options;
        var (data, device) = TrainingLoop.Prepare(input, o, o.PixelColumnName, null, 0);
        using ImageVae vae = o.Architecture == VaeArchitecture.Convolutional
            ? new ConvVae(o.LatentSize, o.HiddenSize)
            : new MlpVae(o.LatentSize, data.Features, o.HiddenSize, o.HiddenLayers);
        vae.to(device);
        using var task = new VaeTrainingTask(vae, o.LearningRate, o.LearningRateSchedule, o.KlWarmupEpochs / o.Epochs);
        using var channel = ((IHostEnvironment)_mlContext).Start(nameof(VaeTrainer));
        var summary = TrainingLoop.Run(task, data, o, device, channel);

        vae.to(torch.CPU);
        vae.eval();
        Directory.CreateDirectory(o.ModelFolder);
        ImageModelExport.Encoder(vae).Save(Path.Combine(o.ModelFolder, "encoder.onnx"));
        ImageModelExport.Decoder(vae).Save(Path.Combine(o.ModelFolder, "decoder.onnx"));
        new ImageModelManifest
        {
            Kind = "Vae",
            Architecture = o.Architecture.ToString(),
            LatentSize = o.LatentSize,
            EncoderFile = "encoder.onnx",
            DecoderFile = "decoder.onnx",
        }.Save(o.ModelFolder);
        return new ImageTrainingResult { ModelFolder = Path.GetFullPath(o.ModelFolder), Summary = summary };
    }

    /// <summary>Checks the pixel column; output columns are added by the fitted transformer.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ImageSchemaChecks.RequirePixels(inputSchema, _options.PixelColumnName);
        return inputSchema;
    }
}
