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
    private readonly double _klWarmupFraction;
    private double _klWeight = 1.0;

    /// <param name="model">The VAE.</param>
    /// <param name="learningRate">Adam learning rate (the peak of a schedule).</param>
    /// <param name="schedule">Learning-rate schedule over the planned steps.</param>
    /// <param name="klWarmupFraction">Fraction of the planned steps over which the KL weight of the training loss rises
    /// linearly from 0 to 1 (0: no warm-up). Reported losses are always the full negative ELBO.</param>
    public VaeTrainingTask(ImageVae model, double learningRate, LearningRateSchedule schedule = LearningRateSchedule.Constant, double klWarmupFraction = 0)
    {
        Model = model;
        _learningRate = learningRate;
        _schedule = schedule;
        _klWarmupFraction = klWarmupFraction;
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

    /// <summary>Sets this step's learning rate and KL weight (functions of the global step, so resume is exact).</summary>
    public void BeginStep(long step, long totalSteps)
    {
        _klWeight = _klWarmupFraction > 0 ? Math.Min(1.0, (step + 1) / (_klWarmupFraction * totalSteps)) : 1.0;
        if (_schedule == LearningRateSchedule.Constant) return;
        double lr = 0.5 * _learningRate * (1 + Math.Cos(Math.PI * step / Math.Max(totalSteps, 1)));
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = lr;
    }

    public void Step(Tensor pixels, Tensor? labels, torch.Generator noise, Span<float> losses)
    {
        float rows = pixels.shape[0];
        _optimizer.zero_grad();
        var (total, reconstruction, kl) = Model.NegativeElbo(pixels, noise);
        (_klWeight < 1.0 ? reconstruction + _klWeight * kl : total).backward();
        _optimizer.step();
        losses[0] = total.item<float>() / rows;
        losses[1] = reconstruction.item<float>() / rows;
        losses[2] = kl.item<float>() / rows;
    }

    public void Dispose() => _optimizer.Dispose();
}
