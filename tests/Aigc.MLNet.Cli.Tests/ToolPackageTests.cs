using System.Diagnostics;

namespace Aigc.MLNet.Cli.Tests;

/// <summary>
/// Installs the aigc tool packed by eng/pack.sh from a local feed into a temporary tool path and runs it. The linux-x64
/// package carries TorchSharp's libtorch (about 140 MB compressed, 520 MB installed), so installing takes a while on a
/// busy 2-core machine; AIGC_PACK_TEST=0 skips it (see README, "Installing the tool").
/// </summary>
[TestClass]
public sealed class ToolPackageTests
{
    /// <summary>Environment variable that turns the pack-and-install test off when set to 0.</summary>
    public const string EnableVariable = "AIGC_PACK_TEST";

    [TestMethod]
    public void Pack_InstallAsTool_HelpUsageErrorAndATinyTrainingRun()
    {
        if (Environment.GetEnvironmentVariable(EnableVariable) == "0")
            Assert.Inconclusive($"{EnableVariable}=0: packing and installing the aigc tool (≈ 140 MB package) skipped.");
        string repo = RepositoryRoot();
        // eng/pack.sh (run by eng/test.sh) writes the tool's packages beside the libraries: a pointer package and the
        // linux-x64 package (.NET 10 RID-specific tool packages). The test installs them as a user would.
        string artifacts = Path.Combine(repo, "artifacts", "packages");
        using var tmp = new TempFolder();
        string feed = tmp.File("feed"), tools = tmp.File("tools");
        Directory.CreateDirectory(feed);
        string[] toolPackages = Directory.Exists(artifacts) ? Directory.GetFiles(artifacts, "Aigc.MLNet.Cli.*.nupkg") : [];
        if (toolPackages.Length != 2)
            Assert.Fail($"Expected the aigc tool's two packages in {artifacts}, found {toolPackages.Length}: run `bash eng/pack.sh` first (eng/test.sh does).");
        foreach (string file in toolPackages) File.Copy(file, Path.Combine(feed, Path.GetFileName(file)));
        // Only the local feed: the install must not depend on any other source.
        File.WriteAllText(tmp.File("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);

        string ridPackage = toolPackages.Single(f => Path.GetFileName(f).StartsWith("Aigc.MLNet.Cli.linux-x64.", StringComparison.Ordinal));
        using (var zip = System.IO.Compression.ZipFile.OpenRead(ridPackage))
        {
            var names = zip.Entries.Select(e => e.FullName).ToArray();
            Assert.IsTrue(names.Any(n => n.EndsWith("/aigc.dll", StringComparison.Ordinal)), "the tool's entry assembly is packed");
            Assert.IsTrue(names.Any(n => n.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal)), "packed as a .NET tool");
            Assert.IsTrue(names.Any(n => n.EndsWith("libtorch_cpu.so", StringComparison.Ordinal)), "libtorch travels with the tool (train verbs need it)");
            foreach (string unused in new[] { "libtorch_python.so", "libtorchbind_test.so", "onnxruntime.dll", "libLdaNative.so.dbg" })
                Assert.IsFalse(names.Any(n => n.EndsWith("/" + unused, StringComparison.Ordinal)), $"{unused} is never loaded by the linux-x64 tool");
            Assert.IsFalse(names.Any(n => n.Contains("/runtimes/win", StringComparison.Ordinal) || n.Contains("/runtimes/osx", StringComparison.Ordinal)),
                "no other platform's natives in the linux-x64 package");
        }

        var install = Run("dotnet", ["tool", "install", "--tool-path", tools, "--configfile", tmp.File("nuget.config"), "Aigc.MLNet.Cli"], TimeSpan.FromMinutes(10));
        Assert.AreEqual(0, install.Code, install.Output);
        string aigc = Path.Combine(tools, OperatingSystem.IsWindows() ? "aigc.exe" : "aigc");
        Assert.IsTrue(File.Exists(aigc), install.Output);

        var help = Run(aigc, ["--help"], TimeSpan.FromMinutes(2));
        Assert.AreEqual(0, help.Code, help.Output);
        foreach (string verb in new[] { "data", "train", "export", "convert", "generate", "evaluate", "quickstart" })
            StringAssert.Contains(help.Output, verb);

        var bad = Run(aigc, ["train", "gpt", "--no-such-flag"], TimeSpan.FromMinutes(2));
        Assert.AreEqual(2, bad.Code, bad.Output);
        Assert.IsFalse(bad.Output.Contains("   at ", StringComparison.Ordinal), bad.Output);

        // A real verb through the installed copy: TorchSharp/libtorch load, training runs, ONNX is written.
        File.WriteAllText(tmp.File("corpus.txt"), string.Concat(Enumerable.Repeat("so it goes, and so on.\n", 40)));
        var train = Run(aigc, ["train", "gpt", "--data", tmp.File("corpus.txt"), "--out", tmp.File("run"), "--iterations", "5", "--batch-size", "2",
            "--block-size", "8", "--layers", "1", "--heads", "1", "--embedding-size", "8", "--eval-interval", "5", "--threads", "1"], TimeSpan.FromMinutes(3));
        Assert.AreEqual(0, train.Code, train.Output);
        StringAssert.Contains(train.Output, "5 steps");
        Assert.IsTrue(File.Exists(tmp.File("run/onnx/onnx/model.onnx")), train.Output);
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Aigc.MLNet.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("Aigc.MLNet.sln was not found above the test output folder.");
    }

    private static (int Code, string Output) Run(string file, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{file} {string.Join(' ', args)}' did not finish within {timeout}.");
        }
        process.WaitForExit();
        return (process.ExitCode, output.Result + error.Result);
    }
}
