using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Trainers.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>One VAE step: Adam on the batch's negative ELBO (BCE-sum + KL), reported per image.</summary>
internal sealed class VaeTrainingTask : IScheduledTrainingTask, IDisposable
{
    private readonly Adam _optimizer;
    private readonly double _learningRate;
    private readonly LearningRateSchedule _schedule;

    public VaeTrainingTask(ImageVae model, double learningRate, LearningRateSchedule schedule = LearningRateSchedule.Constant)
    {
        Model = model;
        _learningRate = learningRate;
        _schedule = schedule;
        _optimizer = optim.Adam(model.parameters(), learningRate);
        string depth = model is MlpVae { HiddenLayers: > 1 } deep ? $":l{deep.HiddenLayers}" : "";
        Kind = $"{model.GetType().Name}:z{model.LatentSize}:p{model.PixelCount}{depth}";
        Modules = [model];
        Optimizers = [_optimizer];
    }

    public ImageVae Model { get; }
    public string Kind { get; }
    public IReadOnlyList<nn.Module> Modules { get; }
    public IReadOnlyList<OptimizerHelper> Optimizers { get; }
    public IReadOnlyList<string> LossNames { get; } = ["Nelbo", "Reconstruction", "Kl"];

    /// <summary>Sets this step's learning rate from the schedule (a function of the global step, so resume is exact).</summary>
    public void BeginStep(long step, long totalSteps)
    {
        if (_schedule == LearningRateSchedule.Constant) return;
        double lr = 0.5 * _learningRate * (1 + Math.Cos(Math.PI * step / Math.Max(totalSteps, 1)));
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = lr;
    }

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
