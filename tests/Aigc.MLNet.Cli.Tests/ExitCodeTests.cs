namespace Aigc.MLNet.Cli.Tests;

[TestClass]
public sealed class ExitCodeTests
{
    [TestMethod]
    public void UnknownFlag_PrintsUsage_Exit2_NoStackTrace()
    {
        var r = CliHarness.Run("generate", "text", "--model", "m", "--prompt", "x", "--bogus-flag");
        Assert.AreEqual(2, r.ExitCode);
        string all = r.Out + r.Error;
        StringAssert.Contains(all, "--bogus-flag");
        StringAssert.Contains(all, "Usage:");
        Assert.IsFalse(all.Contains("   at ", StringComparison.Ordinal), all);
    }

    [TestMethod]
    public void MissingRequiredFlag_AndBadValue_Exit2()
    {
        var missing = CliHarness.Run("generate", "text", "--prompt", "x");
        Assert.AreEqual(2, missing.ExitCode);
        StringAssert.Contains(missing.Out + missing.Error, "--model");
        var badNumber = CliHarness.Run("generate", "text", "-m", "m", "-p", "x", "--top-k", "many");
        Assert.AreEqual(2, badNumber.ExitCode);
        StringAssert.Contains(badNumber.Out + badNumber.Error, "many");
        Assert.AreEqual(2, CliHarness.Run("train").ExitCode, "a verb group without its verb");
        Assert.AreEqual(2, CliHarness.Run("frobnicate").ExitCode);
    }

    [TestMethod]
    public void Help_Exit0_ListsEveryVerb()
    {
        var r = CliHarness.Run("--help");
        Assert.AreEqual(0, r.ExitCode);
        foreach (string verb in new[] { "data", "train", "export", "convert", "generate", "evaluate", "quickstart" })
            StringAssert.Contains(r.Out, verb);
        var train = CliHarness.Run("train", "--help");
        foreach (string verb in new[] { "gpt", "lstm", "gan", "vae" })
            StringAssert.Contains(train.Out, verb);
    }

    [TestMethod]
    public void InvalidGenerationValue_Exit2_WithMessage()
    {
        using var tmp = new TempFolder();
        TinyModels.CharGpt(tmp.Path);
        var r = CliHarness.Run("generate", "text", "-m", tmp.Path, "-p", "ab", "--top-p", "1.5");
        Assert.AreEqual(2, r.ExitCode);
        StringAssert.Contains(r.Error, "error:");
        StringAssert.Contains(r.Error, "--top-p must be in (0, 1]");
    }

    [TestMethod]
    public void TooManyNewTokensForTheContext_Exit1_SaysHowMany()
    {
        using var tmp = new TempFolder();
        TinyModels.CharGpt(tmp.Path);
        var r = CliHarness.Run("generate", "text", "-m", tmp.Path, "-p", "abcd", "--max-new-tokens", "100");
        Assert.AreEqual(1, r.ExitCode);
        StringAssert.Contains(r.Error, "context of 64 positions");
        StringAssert.Contains(r.Error, "at most 60");
    }

    [TestMethod]
    public void MissingModelFolder_Exit1_OneLineError()
    {
        var r = CliHarness.Run("generate", "text", "-m", "/nonexistent/model", "-p", "x");
        Assert.AreEqual(1, r.ExitCode);
        StringAssert.StartsWith(r.Error, "error: --model");
        Assert.IsFalse(r.Error.Contains("   at ", StringComparison.Ordinal));
        var exportMissing = CliHarness.Run("export", "onnx", "--checkpoint", "/nonexistent", "--out", "/tmp/x");
        Assert.AreEqual(1, exportMissing.ExitCode);
        StringAssert.Contains(exportMissing.Error, "aigc-lm.json");
    }

    [TestMethod]
    public void CancelledToken_Exit130()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("corpus.txt"), string.Concat(Enumerable.Repeat("to be or not to be, that is the question.\n", 40)));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var r = CliHarness.Run(cts.Token, "train", "gpt", "--data", tmp.File("corpus.txt"), "--out", tmp.File("out"), "--iterations", "5", "--block-size", "16");
        Assert.AreEqual(130, r.ExitCode, r.Out + r.Error);
    }
}
