using Aigc.MLNet.Onnx.Runtime;

namespace Aigc.MLNet.Cli.Tests;

[TestClass]
public sealed class QuickstartTests
{
    /// <summary>The main job end to end at 1% of its steps: every file it announces exists and is real.</summary>
    [TestMethod]
    public void Quickstart_TinyScale_LeavesPngsOnnxFolderAndSummary()
    {
        using var tmp = new TempFolder();
        var r = CliHarness.Run("quickstart", "--out", tmp.Path, "--scale", "0.01", "--threads", "2");
        Assert.AreEqual(0, r.ExitCode, r.Out + r.Error);
        foreach (string png in new[] { "gan/samples.png", "gan/loss-curve.png", "vae/samples.png", "vae/loss-curve.png", "char-gpt/loss-curve.png" })
        {
            var (w, h) = Pictures.ReadSize(tmp.File(png));
            Assert.IsTrue(w > 100 && h > 50, $"{png}: {w}x{h}");
        }
        using (var lm = CausalLM.Load(tmp.File("char-gpt/onnx")))
            Assert.AreEqual(66, lm.Config.VocabSize, "65 Tiny Shakespeare characters + EOS");
        Assert.IsTrue(new FileInfo(tmp.File("char-gpt/samples.txt")).Length > 20);
        string summary = File.ReadAllText(tmp.File("summary.md"));
        StringAssert.Contains(summary, "perplexity");
        StringAssert.Contains(summary, "classifier score");
        StringAssert.Contains(r.Out, "quickstart");
    }
}
