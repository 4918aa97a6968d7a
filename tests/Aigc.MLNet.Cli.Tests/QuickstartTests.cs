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
        foreach (string png in new[] { "gan/samples.png", "gan/loss-curve.png", "vae/samples.png", "vae/interpolation.png", "vae/loss-curve.png", "char-gpt/loss-curve.png" })
        {
            var (w, h) = Pictures.ReadSize(tmp.File(png));
            Assert.IsTrue(w > 100 && h > 50, $"{png}: {w}x{h}");
        }
        using (var lm = CausalLM.Load(tmp.File("char-gpt/onnx")))
            Assert.AreEqual(66, lm.Config.VocabSize, "65 Tiny Shakespeare characters + EOS");
        Assert.IsTrue(new FileInfo(tmp.File("char-gpt/samples.txt")).Length > 20);
        string summary = File.ReadAllText(tmp.File("summary.md"));
        StringAssert.Contains(summary, "ppl / BLEU / chrF");
        StringAssert.Contains(summary, "classifier score");
        StringAssert.Contains(summary, "VAE test NELBO");
        StringAssert.Contains(r.Out, "quickstart");

        // The 400-character sample comes out in full (the 64-character context window slides).
        string samples = File.ReadAllText(tmp.File("char-gpt/samples.txt"));
        StringAssert.Contains(samples, "--- 400 characters ---");
        using (var lm = CausalLM.Load(tmp.File("char-gpt/onnx")))
            Assert.AreEqual(Aigc.MLNet.Onnx.Generation.ContextOverflow.SlideWindow, lm.Config.DefaultContextOverflow);

        // The terminal summary fits 80 columns: no line is longer, paths are relative to the output folder, rows do not wrap.
        foreach (string line in r.Out.Split('\n'))
            Assert.IsLessThanOrEqualTo(80, line.TrimEnd('\r').Length, $"line wider than 80 columns: {line}");
        Assert.IsTrue(r.Out.Split('\n').Any(l => l.Contains("char GPT 4x128") && l.Contains("val loss")), r.Out);
        StringAssert.Contains(r.Out, "  report.html");
        Assert.DoesNotContain(tmp.Path + "/", r.Out.Replace($"Files under {tmp.Path}:", ""), "paths are printed relative to the output folder");

        // report.html: self-contained (every picture embedded), and it renders in a real browser with every image decoded.
        string report = tmp.File("report.html");
        string html = File.ReadAllText(report);
        Assert.AreEqual(6, System.Text.RegularExpressions.Regex.Matches(html, "<img src=\"data:image/png;base64,").Count, "six pictures, embedded");
        StringAssert.Contains(html, "ROMEO:");
        StringAssert.Contains(html, "VAE test NELBO");
        var (images, loaded) = HeadlessChromium.CountLoadedImages(report);
        Assert.AreEqual(6, images);
        Assert.AreEqual(images, loaded, "every <img> of the report decoded in Chromium");
        string shot = tmp.File("report.png");
        HeadlessChromium.Screenshot(report, shot, 1100, 1600);
        using var bitmap = SkiaSharp.SKBitmap.Decode(shot);
        Assert.AreEqual(1100, bitmap.Width);
        int dark = 0, pixels = 0;
        for (int y = 0; y < bitmap.Height; y += 4)
            for (int x = 0; x < bitmap.Width; x += 4, pixels++)
                if (bitmap.GetPixel(x, y).Red < 128) dark++;
        Assert.IsTrue(dark > pixels / 200 && dark < pixels * 9 / 10, $"the screenshot is blank or black: {dark} of {pixels} sampled pixels dark");
    }
}
