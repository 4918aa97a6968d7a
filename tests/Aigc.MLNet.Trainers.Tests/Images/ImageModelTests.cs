using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Models;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests.Images;

[TestClass]
public sealed class ImageModelTests
{
    [TestMethod]
    public void ModelsHaveTheExpectedShapes()
    {
        torch.manual_seed(1);
        using var g = new MlpGenerator(16);
        using var cg = new MlpGenerator(16, classCount: 10);
        using var d = new MlpDiscriminator();
        using var vae = new MlpVae(latentSize: 5);
        using var scope = NewDisposeScope();
        var z = randn(3, 16);
        var labels = tensor(new long[] { 0, 4, 9 });
        var image = g.forward(z, null);
        CollectionAssert.AreEqual(new long[] { 3, 784 }, image.shape);
        Assert.IsTrue(image.abs().max().item<float>() <= 1f);
        CollectionAssert.AreEqual(new long[] { 3, 784 }, cg.forward(z, labels).shape);
        CollectionAssert.AreEqual(new long[] { 3, 1 }, d.forward(image, null).shape);
        var (mean, logVariance) = vae.Encode(rand(3, 784));
        CollectionAssert.AreEqual(new long[] { 3, 5 }, mean.shape);
        CollectionAssert.AreEqual(new long[] { 3, 5 }, logVariance.shape);
        CollectionAssert.AreEqual(new long[] { 3, 784 }, vae.DecodeLogits(mean).shape);
        Assert.ThrowsExactly<ArgumentNullException>(() => cg.forward(z, null));
        // Generator parameter count: (16+1)*256 + 257*512 + 513*1024 + 1025*784.
        Assert.AreEqual(17L * 256 + 257 * 512 + 513 * 1024 + 1025 * 784, g.parameters().Sum(p => p.numel()));
    }

    [TestMethod]
    public void OneVaeStepLowersTheNegativeElboOnFixedData()
    {
        torch.manual_seed(2);
        using var vae = new MlpVae(latentSize: 8);
        using var optimizer = optim.Adam(vae.parameters(), 1e-3);
        using var scope = NewDisposeScope();
        var x = tensor(ImageTestData.Pixels(16, 5), [16, 784]);
        float Loss()
        {
            using var g = new Generator(42);
            using var _ = no_grad();
            return vae.NegativeElbo(x, g).Total.item<float>();
        }
        float before = Loss();
        using (var g = new Generator(42))
        {
            optimizer.zero_grad();
            vae.NegativeElbo(x, g).Total.backward();
            optimizer.step();
        }
        float after = Loss();
        // 16 images × 784 Bernoulli pixels with near-0.5 outputs: about 16·784·ln 2 ≈ 8,700 nats before training.
        Assert.IsTrue(before is > 7000 and < 11000, $"before {before}");
        Assert.IsTrue(after < before - 50, $"before {before}, after {after}");
    }

    [TestMethod]
    public void OneDiscriminatorStepLowersItsLossOnFixedData()
    {
        torch.manual_seed(3);
        using var g = new MlpGenerator(8);
        using var d = new MlpDiscriminator();
        using var optimizer = optim.Adam(d.parameters(), 2e-4, 0.5, 0.999);
        using var scope = NewDisposeScope();
        var real = tensor(ImageTestData.Pixels(16, 6), [16, 784]) * 2 - 1;
        Tensor fake;
        using (var gen = new Generator(9)) fake = g.forward(randn([16, 8], generator: gen), null).detach();
        var ones = torch.ones(16, 1);
        var zeros = torch.zeros(16, 1);
        Tensor Loss() => nn.functional.binary_cross_entropy_with_logits(d.forward(real, null), ones)
                       + nn.functional.binary_cross_entropy_with_logits(d.forward(fake, null), zeros);
        float before = Loss().item<float>();
        optimizer.zero_grad();
        Loss().backward();
        optimizer.step();
        float after = Loss().item<float>();
        Assert.AreEqual(2 * MathF.Log(2), before, 0.2f);   // an untrained discriminator is near chance
        Assert.IsTrue(after < before, $"before {before}, after {after}");
    }

    [TestMethod]
    public void GeneratorOnnxExportMatchesTorchSharp()
    {
        foreach (int classes in new[] { 0, 10 })
        {
            torch.manual_seed(4);
            using var g = new MlpGenerator(12, classCount: classes);
            using var scope = NewDisposeScope();
            float[] z = randn(5, 12).data<float>().ToArray();
            long[] labels = [0, 3, 9, 1, 7];
            var expected = ((g.forward(tensor(z, [5, 12]), classes > 0 ? tensor(labels) : null) + 1) * 0.5).data<float>().ToArray();

            using var session = new InferenceSession(ImageModelExport.Generator(g).ToArray());
            using var zValue = OrtValue.CreateTensorValueFromMemory(z, [5, 12]);
            using var labelValue = OrtValue.CreateTensorValueFromMemory(labels, [5]);
            using var outputs = classes > 0
                ? session.Run(new RunOptions(), ["z", "label"], [zValue, labelValue], ["image"])
                : session.Run(new RunOptions(), ["z"], [zValue], ["image"]);
            var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.AreEqual(5 * 784, actual.Length);
            Assert.IsTrue(MaxAbsDiff(expected, actual) <= 1e-4, $"classes {classes}: max diff {MaxAbsDiff(expected, actual)}");
        }
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(3)]
    public void VaeOnnxExportMatchesTorchSharp(int hiddenLayers)
    {
        torch.manual_seed(5);
        using var vae = new MlpVae(latentSize: 7, hiddenSize: 64, hiddenLayers: hiddenLayers);
        Assert.HasCount(hiddenLayers - 1, vae.EncoderDeepLayers);
        Assert.HasCount(hiddenLayers - 1, vae.DecoderDeepLayers);
        // One hidden layer keeps the pytorch/examples state dict (fc1, fc21, fc22, fc3, fc4: weights and biases).
        Assert.AreEqual(10 + 4 * (hiddenLayers - 1), vae.state_dict().Count);
        using var scope = NewDisposeScope();
        float[] x = ImageTestData.Pixels(4, 8);
        var (mean, logVariance) = vae.Encode(tensor(x, [4, 784]));
        float[] z = randn(4, 7).data<float>().ToArray();
        var decoded = vae.DecodeLogits(tensor(z, [4, 7])).sigmoid().data<float>().ToArray();

        using var encoder = new InferenceSession(ImageModelExport.Encoder(vae).ToArray());
        using var xValue = OrtValue.CreateTensorValueFromMemory(x, [4, 784]);
        using var encoded = encoder.Run(new RunOptions(), ["pixels"], [xValue], ["mean", "log_variance"]);
        Assert.IsTrue(MaxAbsDiff(mean.data<float>().ToArray(), encoded[0].GetTensorDataAsSpan<float>().ToArray()) <= 1e-4);
        Assert.IsTrue(MaxAbsDiff(logVariance.data<float>().ToArray(), encoded[1].GetTensorDataAsSpan<float>().ToArray()) <= 1e-4);

        using var decoder = new InferenceSession(ImageModelExport.Decoder(vae).ToArray());
        using var zValue = OrtValue.CreateTensorValueFromMemory(z, [4, 7]);
        using var image = decoder.Run(new RunOptions(), ["z"], [zValue], ["image"]);
        Assert.IsTrue(MaxAbsDiff(decoded, image[0].GetTensorDataAsSpan<float>().ToArray()) <= 1e-4);
    }

    internal static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.AreEqual(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}
