using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Trainers.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>One GAN step: a discriminator update on real and generated images, then a non-saturating generator update.</summary>
internal sealed class GanTrainingTask : ITrainingTask, IDisposable
{
    private readonly Adam _generatorOptimizer;
    private readonly Adam _discriminatorOptimizer;

    private readonly double _realLabel;

    public GanTrainingTask(ImageGenerator generator, nn.Module<Tensor, Tensor?, Tensor> discriminator, double learningRate, double beta1, double beta2,
                           double discriminatorLearningRate, double realLabel = 1.0)
    {
        Generator = generator;
        Discriminator = discriminator;
        _realLabel = realLabel;
        _generatorOptimizer = optim.Adam(generator.parameters(), learningRate, beta1, beta2);
        _discriminatorOptimizer = optim.Adam(discriminator.parameters(), discriminatorLearningRate, beta1, beta2);
        Kind = $"{generator.GetType().Name}+{discriminator.GetType().Name}:z{generator.LatentSize}:c{generator.ClassCount}:p{generator.PixelCount}"
            // A non-default width is part of the kind, so a checkpoint never resumes into a generator of another width.
            + (generator is Models.DcganGenerator { BaseChannels: not Models.DcganGenerator.DefaultBaseChannels } dc ? $":g{dc.BaseChannels}" : "")
            // So is a projection discriminator: its state has another shape than the input-plane one.
            + (discriminator is DcganDiscriminator { ClassCount: > 0, Conditioning: DiscriminatorConditioning.Projection } ? ":dproj" : "");
        Modules = [generator, discriminator];
        Optimizers = [_generatorOptimizer, _discriminatorOptimizer];
    }

    public ImageGenerator Generator { get; }
    public nn.Module<Tensor, Tensor?, Tensor> Discriminator { get; }
    public string Kind { get; }
    public IReadOnlyList<nn.Module> Modules { get; }
    public IReadOnlyList<OptimizerHelper> Optimizers { get; }
    public IReadOnlyList<string> LossNames { get; } = ["Discriminator", "Generator"];

    public void Step(Tensor pixels, Tensor? labels, torch.Generator noise, Span<float> losses)
    {
        long rows = pixels.shape[0];
        var real = pixels * 2 - 1;
        var z = randn([rows, Generator.LatentSize], dtype: real.dtype, device: real.device, generator: noise);
        var ones = ones_like(real.narrow(1, 0, 1));
        var zeros = zeros_like(ones);
        var fake = Generator.forward(z, labels);

        _discriminatorOptimizer.zero_grad();
        var realTarget = _realLabel == 1.0 ? ones : full_like(ones, _realLabel);
        var dLoss = nn.functional.binary_cross_entropy_with_logits(Discriminator.forward(real, labels), realTarget)
                  + nn.functional.binary_cross_entropy_with_logits(Discriminator.forward(fake.detach(), labels), zeros);
        dLoss.backward();
        _discriminatorOptimizer.step();

        _generatorOptimizer.zero_grad();
        var gLoss = nn.functional.binary_cross_entropy_with_logits(Discriminator.forward(fake, labels), ones);
        gLoss.backward();
        _generatorOptimizer.step();

        losses[0] = dLoss.item<float>();
        losses[1] = gLoss.item<float>();
    }

    public void Dispose()
    {
        _generatorOptimizer.Dispose();
        _discriminatorOptimizer.Dispose();
    }
}
