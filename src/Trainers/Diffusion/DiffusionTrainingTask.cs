using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms.Images;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Diffusion;

/// <summary>Exponential moving average of a U-Net's weights, with its update count as a (checkpointed) buffer.</summary>
internal sealed class DiffusionEma : nn.Module
{
    private readonly DiffusionUNet average;
    private readonly Tensor updates;

    public DiffusionEma(DiffusionUNet source, double decay) : base(nameof(DiffusionEma))
    {
        Decay = decay;
        average = new DiffusionUNet(source.BaseChannels, source.Timesteps, source.ClassCount);
        updates = zeros(1, dtype: ScalarType.Int64);
        RegisterComponents();
        using (no_grad())
            foreach (var (a, s) in average.parameters().Zip(source.parameters()))
                a.copy_(s);
        average.eval();
    }

    public double Decay { get; }

    public DiffusionUNet Average => average;

    public void Update(DiffusionUNet source)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long n = updates.item<long>();
        double decay = Math.Min(Decay, (1.0 + n) / (10.0 + n));
        foreach (var (a, s) in average.parameters().Zip(source.parameters()))
            a.mul_(decay).add_(s.detach(), alpha: 1 - decay);
        updates.add_(1);
    }
}

/// <summary>One DDPM step: uniform t, xₜ from the closed form, ε-prediction MSE, Adam (+ clipping, EMA).</summary>
internal sealed class DiffusionTrainingTask : ITrainingTask, IDisposable
{
    private readonly Adam _optimizer;
    private readonly Tensor _sqrtAlphaBars;
    private readonly Tensor _sqrtOneMinusAlphaBars;
    private readonly double _labelDropout;
    private readonly double _clip;

    public DiffusionTrainingTask(DiffusionUNet model, DiffusionEma? ema, NoiseSchedule schedule, double learningRate, double labelDropout, double clip, Device device)
    {
        Model = model;
        Ema = ema;
        Schedule = schedule;
        _labelDropout = labelDropout;
        _clip = clip;
        _optimizer = optim.Adam(model.parameters(), learningRate);
        _sqrtAlphaBars = tensor(schedule.AlphaBars.Select(a => (float)Math.Sqrt(a)).ToArray(), device: device);
        _sqrtOneMinusAlphaBars = tensor(schedule.AlphaBars.Select(a => (float)Math.Sqrt(1 - a)).ToArray(), device: device);
        Kind = $"DiffusionUNet:c{model.BaseChannels}:T{model.Timesteps}:k{model.ClassCount}:{schedule.Kind}:ema{(ema is null ? 0 : 1)}";
        Modules = ema is null ? [model] : [model, ema];
        Optimizers = [_optimizer];
    }

    public DiffusionUNet Model { get; }
    public DiffusionEma? Ema { get; }
    public NoiseSchedule Schedule { get; }
    public string Kind { get; }
    public IReadOnlyList<nn.Module> Modules { get; }
    public IReadOnlyList<OptimizerHelper> Optimizers { get; }
    public IReadOnlyList<string> LossNames { get; } = ["Mse"];

    /// <summary>The ε-prediction loss on a batch for given t and noise (no update); exposed for tests.</summary>
    public Tensor Loss(Tensor pixels, Tensor? labels, Tensor t, Tensor noise) =>
        nn.functional.mse_loss(Model.forward(AddNoise(pixels * 2 - 1, t, noise), t, labels), noise);

    /// <summary>q(xₜ | x₀) in closed form: √ᾱₜ x₀ + √(1 − ᾱₜ) ε, per row's t.</summary>
    public Tensor AddNoise(Tensor x0, Tensor t, Tensor noise) =>
        _sqrtAlphaBars.index_select(0, t).unsqueeze(1) * x0 + _sqrtOneMinusAlphaBars.index_select(0, t).unsqueeze(1) * noise;

    /// <summary>One optimisation step on given t and noise; returns the loss before the update.</summary>
    public float StepOn(Tensor pixels, Tensor? labels, Tensor t, Tensor noise)
    {
        Model.train();
        _optimizer.zero_grad();
        var loss = Loss(pixels, labels, t, noise);
        loss.backward();
        if (_clip > 0) nn.utils.clip_grad_norm_(Model.parameters(), _clip);
        _optimizer.step();
        Ema?.Update(Model);
        return loss.item<float>();
    }

    public void Step(Tensor pixels, Tensor? labels, torch.Generator noise, Span<float> losses)
    {
        long rows = pixels.shape[0];
        var t = randint(0, Schedule.Timesteps, [rows], dtype: ScalarType.Int64, device: pixels.device, generator: noise);
        var epsilon = randn([rows, pixels.shape[1]], dtype: pixels.dtype, device: pixels.device, generator: noise);
        if (labels is not null && _labelDropout > 0)
        {
            var drop = rand([rows], device: pixels.device, generator: noise).lt(_labelDropout);
            labels = where(drop, full_like(labels, Model.ClassCount), labels);
        }
        losses[0] = StepOn(pixels, labels, t, epsilon);
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _sqrtAlphaBars.Dispose();
        _sqrtOneMinusAlphaBars.Dispose();
    }
}
