using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Transforms.Images;

namespace Aigc.MLNet.Transforms.Tests.Images;

/// <summary>Small ONNX image models written with the project's writer, with C# reference computations.</summary>
internal sealed class TinyImageModels
{
    public const int Latent = 3;
    public float[] GeneratorWeight { get; } = Weights(784 * Latent, 1);     // [784, Latent]
    public float[] EncoderWeight { get; } = Weights(2 * Latent * 784, 2);  // [2·Latent, 784]
    public float[] DecoderWeight { get; } = Weights(784 * Latent, 3);      // [784, Latent]

    public static float[] Weights(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextSingle() - 0.5f).ToArray();
    }

    public static string TempFolder(string name)
    {
        string path = Path.Combine(Path.GetTempPath(), "aigc-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>A GAN folder: image = sigmoid(W z) (+ label·0.1 on every pixel when conditional).</summary>
    public string WriteGan(string folder, bool conditional = false)
    {
        var g = new OnnxGraph("generator");
        g.AddInput("z", OnnxElementType.Float, ["batch", Latent]);
        string w = g.AddInitializer("w", GeneratorWeight, [784, Latent]);
        string h = g.Apply("Gemm", ["z", w], OnnxAttribute.Int("transB", 1));
        if (conditional)
        {
            g.AddInput("label", OnnxElementType.Int64, ["batch"]);
            string asFloat = g.Apply("Cast", ["label"], OnnxAttribute.Int("to", 1));
            string scaled = g.Apply("Mul", [asFloat, g.AddScalar("tenth", 0.1f)]);
            string column = g.Apply("Unsqueeze", [scaled, g.AddConstant("axis", 1)]);
            h = g.Apply("Add", [h, column]);
        }
        g.AddNode("Sigmoid", [h], ["image"]);
        g.AddOutput("image", OnnxElementType.Float, ["batch", 784]);
        new OnnxModel(g).Save(Path.Combine(folder, "generator.onnx"));
        new ImageModelManifest { Kind = conditional ? "ConditionalGan" : "Gan", Architecture = "Test", LatentSize = Latent, ClassCount = conditional ? 10 : 0, GeneratorFile = "generator.onnx" }.Save(folder);
        return folder;
    }

    /// <summary>A VAE folder: [mean; logvar] = W x, image = sigmoid(D z).</summary>
    public string WriteVae(string folder)
    {
        var e = new OnnxGraph("encoder");
        e.AddInput("pixels", OnnxElementType.Float, ["batch", 784]);
        string both = e.Apply("Gemm", ["pixels", e.AddInitializer("w", EncoderWeight, [2 * Latent, 784])], OnnxAttribute.Int("transB", 1));
        e.AddNode("Split", [both, e.AddConstant("sizes", Latent, Latent)], ["mean", "log_variance"], OnnxAttribute.Int("axis", 1));
        e.AddOutput("mean", OnnxElementType.Float, ["batch", Latent]);
        e.AddOutput("log_variance", OnnxElementType.Float, ["batch", Latent]);
        new OnnxModel(e).Save(Path.Combine(folder, "encoder.onnx"));

        var d = new OnnxGraph("decoder");
        d.AddInput("z", OnnxElementType.Float, ["batch", Latent]);
        string h = d.Apply("Gemm", ["z", d.AddInitializer("w", DecoderWeight, [784, Latent])], OnnxAttribute.Int("transB", 1));
        d.AddNode("Sigmoid", [h], ["image"]);
        d.AddOutput("image", OnnxElementType.Float, ["batch", 784]);
        new OnnxModel(d).Save(Path.Combine(folder, "decoder.onnx"));
        new ImageModelManifest { Kind = "Vae", Architecture = "Test", LatentSize = Latent, EncoderFile = "encoder.onnx", DecoderFile = "decoder.onnx" }.Save(folder);
        return folder;
    }

    public float[] Generate(float[] z, int label = 0) => MatVecSigmoid(GeneratorWeight, z, 784, label * 0.1f);

    public (float[] Mean, float[] LogVariance) Encode(float[] x)
    {
        var both = new float[2 * Latent];
        for (int i = 0; i < both.Length; i++)
        {
            double s = 0;
            for (int j = 0; j < 784; j++) s += EncoderWeight[i * 784 + j] * x[j];
            both[i] = (float)s;
        }
        return (both[..Latent], both[Latent..]);
    }

    public float[] Decode(float[] z) => MatVecSigmoid(DecoderWeight, z, 784, 0);

    private static float[] MatVecSigmoid(float[] w, float[] z, int rows, float shift)
    {
        var y = new float[rows];
        for (int i = 0; i < rows; i++)
        {
            double s = shift;
            for (int j = 0; j < z.Length; j++) s += w[i * z.Length + j] * z[j];
            y[i] = (float)(1 / (1 + Math.Exp(-s)));
        }
        return y;
    }
}
