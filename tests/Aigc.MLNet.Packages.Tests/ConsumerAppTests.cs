using System.Globalization;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;

namespace Aigc.MLNet.Packages.Tests;

/// <summary>
/// Fresh console apps outside the repository install the packages from the local feed with `dotnet add package`, first
/// without the native runtime (the first call must name the package to add), then with it.
/// </summary>
[TestClass]
public sealed class ConsumerAppTests
{
    private const string OnnxRuntimeVersion = "1.31.1";
    private const string LibTorchVersion = "2.10.0";

    private static string Version => Path.GetFileNameWithoutExtension(ConsumerWorkspace.Package("Aigc.MLNet.Onnx"))["Aigc.MLNet.Onnx.".Length..];

    private static string DataRoot =>
        Environment.GetEnvironmentVariable("AIGC_DATA_DIR") is { Length: > 0 } d ? d
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "aigc-mlnet");

    private static string Source(string app) => Path.Combine(AppContext.BaseDirectory, "ConsumerApps", app, "Program.cs");

    [TestMethod]
    public void GenerateTextApp_NamesTheMissingOnnxRuntime_ThenMatchesTheEngine()
    {
        string vocab = Path.Combine(DataRoot, "gpt2", "vocab.json"), merges = Path.Combine(DataRoot, "gpt2", "merges.txt");
        if (!File.Exists(vocab)) Assert.Fail($"{vocab} is missing: run `bash eng/fetch-data.sh`.");
        using var ws = new ConsumerWorkspace();
        string app = ws.NewConsoleApp("GenerateTextApp", Source("GenerateText"));
        ws.AddPackage(app, "Aigc.MLNet.Transforms", Version);
        string model = Path.Combine(ws.Root, "model");

        var missing = ws.RunApp(app, vocab, merges, model);
        Assert.AreNotEqual(0, missing.Code, missing.Output);
        StringAssert.Contains(missing.Output, "Microsoft.ML.OnnxRuntime", "the error names the package to add");
        StringAssert.Contains(missing.Output, OnnxRuntimeNative.MissingMessage);

        ws.AddPackage(app, "Microsoft.ML.OnnxRuntime", OnnxRuntimeVersion);
        var run = ws.RunApp(app, vocab, merges, model);
        Assert.AreEqual(0, run.Code, run.Output);
        StringAssert.Contains(run.Output, "pipeline == engine");

        // The same folder through the engine in this process gives the same tokens and text.
        string[] prompts = ["The weather today is", "Once upon a time", "ML.NET pipelines"];
        var lines = run.Output.Split('\n').Where(l => l.Length > 0 && char.IsDigit(l[0]) && l.Contains('\t')).Select(l => l.TrimEnd('\r').Split('\t')).ToArray();
        Assert.HasCount(prompts.Length, lines, run.Output);
        using var lm = CausalLM.Load(model);
        var generator = new TextGenerator(lm);
        for (int i = 0; i < prompts.Length; i++)
        {
            var expected = generator.Generate(prompts[i], new GenerationOptions { MaxNewTokens = 12 })[0];
            Assert.AreEqual(i.ToString(CultureInfo.InvariantCulture), lines[i][0]);
            Assert.AreEqual(string.Join(',', expected.TokenIds), lines[i][1], $"token ids of prompt {i}");
            Assert.HasCount(12, expected.TokenIds);
            Assert.AreEqual(expected.Text!.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\t", "\\t"), lines[i][2], $"text of prompt {i}");
        }
    }

    [TestMethod]
    public void TrainGanApp_NamesTheMissingLibTorch_ThenTrainsFiveStepsAndGeneratesADigit()
    {
        string mnist = Path.Combine(DataRoot, "mnist");
        if (!Directory.Exists(mnist)) Assert.Fail($"{mnist} is missing: run `bash eng/fetch-data.sh`.");
        // TorchSharp also finds libtorch in the packages folder when the app does not reference it: withhold it there.
        using var ws = new ConsumerWorkspace("libtorch-cpu-linux-x64");
        string app = ws.NewConsoleApp("TrainGanApp", Source("TrainGan"));
        ws.AddPackage(app, "Aigc.MLNet.Trainers", Version);
        ws.AddPackage(app, "Microsoft.ML.OnnxRuntime", OnnxRuntimeVersion);
        string output = Path.Combine(ws.Root, "out");

        var missing = ws.RunApp(app, mnist, output);
        Assert.AreNotEqual(0, missing.Code, missing.Output);
        StringAssert.Contains(missing.Output, $"dotnet add package libtorch-cpu-linux-x64 --version {LibTorchVersion}", "the error names the package to add");
        Assert.IsFalse(File.Exists(Path.Combine(output, "gan", "generator.onnx")), "nothing exported by a run that could not train");

        ws.Provide("libtorch-cpu-linux-x64");
        ws.AddPackage(app, "libtorch-cpu-linux-x64", LibTorchVersion);
        var run = ws.RunApp(app, mnist, output);
        Assert.AreEqual(0, run.Code, run.Output);
        StringAssert.Contains(run.Output, "steps 5");
        var pixels = run.Output.Split('\n').Single(l => l.StartsWith("pixels ", StringComparison.Ordinal)).Split(' ');
        Assert.AreEqual("784", pixels[1]);
        double min = double.Parse(pixels[3], CultureInfo.InvariantCulture), max = double.Parse(pixels[5], CultureInfo.InvariantCulture);
        Assert.IsTrue(min >= 0 && max <= 1 && max > min, run.Output);
        Assert.IsTrue(File.Exists(Path.Combine(output, "gan", "generator.onnx")), run.Output);
        string png = Path.Combine(output, "digit.png");
        byte[] header = File.ReadAllBytes(png)[..8];
        CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a }, header);
    }
}
