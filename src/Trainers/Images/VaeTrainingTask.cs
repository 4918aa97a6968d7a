using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Trainers.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>One VAE step: Adam on the batch's negative ELBO (BCE-sum + KL), reported per image.</summary>
internal sealed class VaeTrainingTask : ITrainingTask, IDisposable
{
    private readonly Adam _optimizer;

    public VaeTrainingTask(ImageVae model, double learningRate)
    {
        Model = model;
        _optimizer = optim.Adam(model.parameters(), learningRate);
        Kind = $"{model.GetType().Name}:z{model.LatentSize}:p{model.PixelCount}";
        Modules = [model];
        Optimizers = [_optimizer];
    }

    public ImageVae Model { get; }
    public string Kind { get; }
    public IReadOnlyList<nn.Module> Modules { get; }
    public IReadOnlyList<OptimizerHelper> Optimizers { get; }
    public IReadOnlyList<string> LossNames { get; } = ["Nelbo", "Reconstruction", "Kl"];

    public void Step(Tensor pixels, Tensor? labels, torch.Generator noise, Span<float> losses)
    {
        float rows = pixels.shape[0];
        _optimizer.zero_grad();
        var (total, reconstruction, kl) = Model.NegativeElbo(pixels, noise);
        total.backward();
        _optimizer.step();
        losses[0] = total.item<float>() / rows;
        losses[1] = reconstruction.item<float>() / rows;
        losses[2] = kl.item<float>() / rows;
    }

    public void Dispose() => _optimizer.Dispose();
}
