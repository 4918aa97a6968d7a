using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests.Images;

[TestClass]
public sealed class ConvolutionalModelTests
{
    [TestMethod]
    public void DcganAndConvVaeHaveTheExpectedShapes()
    {
        torch.manual_seed(1);
        using var g = new DcganGenerator(16, classCount: 10);
        using var d = new DcganDiscriminator(classCount: 10);
        using var vae = new ConvVae(latentSize: 6);
        using var scope = NewDisposeScope();
        var labels = tensor(new long[] { 1, 2, 3 });
        var images = g.forward(randn(3, 16), labels);
        CollectionAssert.AreEqual(new long[] { 3, 784 }, images.shape);
        CollectionAssert.AreEqual(new long[] { 3, 1 }, d.forward(images, labels).shape);
        var (mean, logVariance) = vae.Encode(rand(3, 784));
        CollectionAssert.AreEqual(new long[] { 3, 6 }, mean.shape);
        CollectionAssert.AreEqual(new long[] { 3, 6 }, logVariance.shape);
        CollectionAssert.AreEqual(new long[] { 3, 784 }, vae.DecodeLogits(mean).shape);
    }

    [TestMethod]
    public void ConditionalDcganDiscriminatorJudgesImageAndClassTogether()
    {
        // A class term added only at the output would make D(x, a) − D(x, b) the same for every image x, so the
        // generator could ignore its label; with the class as input planes that difference depends on the image.
        torch.manual_seed(3);
        using var d = new DcganDiscriminator(classCount: 10);
        d.eval();
        using var scope = NewDisposeScope();
        var images = rand(4, 784) * 2 - 1;
        var logitsA = d.forward(images, full(4, 2, dtype: ScalarType.Int64)).flatten();
        var logitsB = d.forward(images, full(4, 7, dtype: ScalarType.Int64)).flatten();
        var difference = (logitsA - logitsB).data<float>().ToArray();
        Assert.AreEqual(4, difference.Length);
        Assert.IsGreaterThan(1e-4f, difference.Max() - difference.Min(), $"class effect per image: {string.Join(", ", difference)}");
        Assert.ThrowsExactly<ArgumentNullException>(() => d.forward(images, null));
    }

    [TestMethod]
    public void ProjectionDiscriminatorAddsTheClassEmbeddingsInnerProductWithTheFeatures()
    {
        torch.manual_seed(4);
        using var d = new DcganDiscriminator(classCount: 10, DiscriminatorConditioning.Projection);
        d.eval();
        Assert.AreEqual(DiscriminatorConditioning.Projection, d.Conditioning);
        var parameters = d.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        CollectionAssert.AreEqual(new long[] { 64, 1, 4, 4 }, parameters["down1.weight"].shape, "no class planes at the input");
        CollectionAssert.AreEqual(new long[] { 10, 128 * 7 * 7 }, parameters["classEmbedding.weight"].shape);
        float bound = 1f / MathF.Sqrt(128 * 7 * 7);
        Assert.IsLessThanOrEqualTo(bound, parameters["classEmbedding.weight"].abs().max().item<float>(), "embedding starts at the output layer's scale");

        // logit(x, y) = w·h(x) + b + e_y·h(x). With e_2 = 0 and e_7 = w: logit(x, 7) − b = 2 (logit(x, 2) − b) for every x.
        using (no_grad())
        {
            parameters["classEmbedding.weight"].zero_();
            parameters["classEmbedding.weight"][7].copy_(parameters["output.weight"][0]);
        }
        using var scope = NewDisposeScope();
        var images = rand(5, 784) * 2 - 1;
        float b = parameters["output.bias"].item<float>();
        float[] two = d.forward(images, full(5, 2, dtype: ScalarType.Int64)).flatten().data<float>().ToArray();
        float[] seven = d.forward(images, full(5, 7, dtype: ScalarType.Int64)).flatten().data<float>().ToArray();
        for (int i = 0; i < 5; i++)
            Assert.AreEqual(2 * (two[i] - b), seven[i] - b, 1e-4 * (1 + Math.Abs(seven[i])), $"image {i}");
        Assert.IsGreaterThan(1e-3f, two.Max() - two.Min(), "the logits depend on the image");
        Assert.ThrowsExactly<ArgumentNullException>(() => d.forward(images, null));

        // Unconditional: the conditioning setting is moot and no embedding is made.
        using var plain = new DcganDiscriminator(classCount: 0, DiscriminatorConditioning.Projection);
        Assert.AreEqual(DiscriminatorConditioning.InputPlanes, plain.Conditioning);
        Assert.IsFalse(plain.named_parameters().Any(p => p.name.StartsWith("classEmbedding", StringComparison.Ordinal)));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new DcganDiscriminator(10, (DiscriminatorConditioning)5));
    }

    [TestMethod]
    public void DcganGeneratorOnnxExportMatchesTorchSharpInEvalMode()
    {
        foreach (var (classes, channels) in new[] { (0, DcganGenerator.DefaultBaseChannels), (10, DcganGenerator.DefaultBaseChannels), (10, 16) })
        {
            torch.manual_seed(6);
            using var g = new DcganGenerator(10, classes, channels);
            Assert.AreEqual(channels, g.BaseChannels);
            Assert.AreEqual(channels * 7 * 7, g.Project.weight!.shape[0], "the 7x7 map has the asked channels");
            Assert.AreEqual(channels / 2, g.Up1.weight!.shape[1], "the 14x14 map has half of them");
            using var scope = NewDisposeScope();
            long[] labels = [0, 3, 9, 1];
            var labelTensor = classes > 0 ? tensor(labels) : null;
            // A few training-mode passes move the batch-norm running statistics away from their initial values.
            for (int i = 0; i < 3; i++) g.forward(randn(8, 10), classes > 0 ? tensor(new long[] { 0, 1, 2, 3, 4, 5, 6, 7 }) : null);
            g.eval();
            float[] z = randn(4, 10).data<float>().ToArray();
            var expected = ((g.forward(tensor(z, [4, 10]), labelTensor) + 1) * 0.5).data<float>().ToArray();

            using var session = new InferenceSession(ImageModelExport.Generator(g).ToArray());
            using var zValue = OrtValue.CreateTensorValueFromMemory(z, [4, 10]);
            using var labelValue = OrtValue.CreateTensorValueFromMemory(labels, [4]);
            using var outputs = classes > 0
                ? session.Run(new RunOptions(), ["z", "label"], [zValue, labelValue], ["image"])
                : session.Run(new RunOptions(), ["z"], [zValue], ["image"]);
            var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            double diff = ImageModelTests.MaxAbsDiff(expected, actual);
            Assert.IsTrue(diff <= 1e-4, $"classes {classes}, channels {channels}: max diff {diff}");
        }
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new DcganGenerator(10, 0, baseChannels: 15));
        var options = new GanOptions { ModelFolder = "x", Architecture = GanArchitecture.Dcgan, GeneratorChannels = 0 };
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(options.Validate);
        StringAssert.Contains(e.Message, "GeneratorChannels");
    }

    [TestMethod]
    public void ConvVaeOnnxExportMatchesTorchSharp()
    {
        torch.manual_seed(7);
        using var vae = new ConvVae(latentSize: 5, hiddenSize: 64);
        using var scope = NewDisposeScope();
        float[] x = ImageTestData.Pixels(3, 9);
        var (mean, logVariance) = vae.Encode(tensor(x, [3, 784]));
        float[] z = randn(3, 5).data<float>().ToArray();
        var decoded = vae.DecodeLogits(tensor(z, [3, 5])).sigmoid().data<float>().ToArray();

        using var encoder = new InferenceSession(ImageModelExport.Encoder(vae).ToArray());
        using var xValue = OrtValue.CreateTensorValueFromMemory(x, [3, 784]);
        using var encoded = encoder.Run(new RunOptions(), ["pixels"], [xValue], ["mean", "log_variance"]);
        Assert.IsTrue(ImageModelTests.MaxAbsDiff(mean.data<float>().ToArray(), encoded[0].GetTensorDataAsSpan<float>().ToArray()) <= 1e-4);
        Assert.IsTrue(ImageModelTests.MaxAbsDiff(logVariance.data<float>().ToArray(), encoded[1].GetTensorDataAsSpan<float>().ToArray()) <= 1e-4);
        using var decoder = new InferenceSession(ImageModelExport.Decoder(vae).ToArray());
        using var zValue = OrtValue.CreateTensorValueFromMemory(z, [3, 5]);
        using var image = decoder.Run(new RunOptions(), ["z"], [zValue], ["image"]);
        Assert.IsTrue(ImageModelTests.MaxAbsDiff(decoded, image[0].GetTensorDataAsSpan<float>().ToArray()) <= 1e-4);
    }

    [TestMethod]
    public void DcganAndConvVaeTrainersResumeBitIdentically()
    {
        var ml = new MLContext(1);
        var data = ImageTestData.View(ml, 24, withLabels: true);
        foreach (bool isGan in new[] { true, false })
        {
            string Run(int epochs, string root, bool resume)
            {
                string model = Path.Combine(root, "model"), checkpoints = Path.Combine(root, "ckpt");
                if (isGan)
                    ml.Generative().Trainers.Gan(new GanOptions
                    {
                        Architecture = GanArchitecture.Dcgan, LabelColumnName = "Label", ModelFolder = model, CheckpointFolder = checkpoints,
                        Resume = resume, LatentSize = 8, BatchSize = 8, Epochs = epochs, Seed = 3,
                    }).Train(data);
                else
                    ml.Generative().Trainers.Vae(new VaeOptions
                    {
                        Architecture = VaeArchitecture.Convolutional, HiddenSize = 32, ModelFolder = model, CheckpointFolder = checkpoints,
                        Resume = resume, LatentSize = 4, BatchSize = 8, Epochs = epochs, Seed = 3,
                    }).Train(data);
                return root;
            }
            string straight = Run(2, ImageTestData.TempFolder("straight"), false);
            string resumed = ImageTestData.TempFolder("resumed");
            Run(1, resumed, false);
            Run(2, resumed, true);
            foreach (string f in isGan ? new[] { "ckpt/checkpoint.bin", "model/generator.onnx" } : ["ckpt/checkpoint.bin", "model/encoder.onnx", "model/decoder.onnx"])
                CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(straight, f)), File.ReadAllBytes(Path.Combine(resumed, f)), f);
            var manifest = Aigc.MLNet.Transforms.Images.ImageModelManifest.Load(Path.Combine(resumed, "model"));
            Assert.AreEqual(isGan ? "Dcgan" : "Convolutional", manifest.Architecture);
        }
    }
}
