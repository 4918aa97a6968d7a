using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Spectre.Console;

namespace Aigc.MLNet.Cli.Tests;

[TestClass]
public sealed class ServeCommandTests
{
    [TestMethod]
    public async Task Serve_AnswersCompletions_AndStopsCleanlyOnCancel()
    {
        using var folder = new TempFolder();
        TinyModels.CharGpt(folder.Path);
        var outText = new StringWriter();
        var errText = new StringWriter();
        var output = TextWriter.Synchronized(outText);
        var error = TextWriter.Synchronized(errText);
        // The synchronized writers lock on themselves; read the text under the same lock.
        string Out() { lock (output) return outText.ToString(); }
        string Err() { lock (error) return errText.ToString(); }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No });
        using var cts = new CancellationTokenSource();
        var run = Task.Run(() => AigcApp.RunAsync(["serve", "--model", folder.Path, "--port", "0", "--max-batch", "2", "--served-model-name", "chars"],
            new CliContext(console, output, error), cts.Token));

        Match started = Match.Empty;
        for (var until = DateTime.UtcNow.AddSeconds(60); !started.Success && DateTime.UtcNow < until && !run.IsCompleted; await Task.Delay(20))
            started = Regex.Match(Out(), @"Serving 'chars' at (http://\S+) \(OpenAI API under /v1; max batch 2, queue 64\)");
        Assert.IsTrue(started.Success, $"out: {Out()}\nerr: {Err()}");

        using var http = new HttpClient { BaseAddress = new Uri(started.Groups[1].Value) };
        Assert.AreEqual("chars", JsonDocument.Parse(await http.GetStringAsync("v1/models")).RootElement.GetProperty("data")[0].GetProperty("id").GetString());
        using var response = await http.PostAsync("v1/completions", new StringContent("""{"model":"chars","prompt":"abc","max_tokens":6,"temperature":0}""", Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        string text = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
        using (var model = CausalLM.Load(folder.Path))
            Assert.AreEqual(new TextGenerator(model).GenerateText("abc", new GenerationOptions { MaxNewTokens = 6 }), text);

        cts.Cancel();
        Assert.AreEqual(ExitCodes.Success, await run.WaitAsync(TimeSpan.FromSeconds(60)));
        StringAssert.Contains(Out(), "Stopped.");
    }

    [TestMethod]
    public void Serve_BadFlags_SayWhichFlagAndWhatIsExpected()
    {
        var help = CliHarness.Run("--help");
        StringAssert.Contains(help.Out, "serve");
        var serveHelp = CliHarness.Run("serve", "--help");
        foreach (string flag in new[] { "--model", "--port", "--host", "--max-batch", "--max-queue", "--api-key-env" })
            StringAssert.Contains(serveHelp.Out, flag);
        using var folder = new TempFolder();
        var host = CliHarness.Run("serve", "--model", folder.Path, "--host", "example.com");
        Assert.AreEqual(ExitCodes.Usage, host.ExitCode);
        StringAssert.Contains(host.Error, "error: --host is 'example.com': expected an IP address (127.0.0.1, 0.0.0.0, ::1, ::) or localhost.");
        var batch = CliHarness.Run("serve", "--model", folder.Path, "--max-batch", "0");
        Assert.AreEqual(ExitCodes.Usage, batch.ExitCode);
        StringAssert.Contains(batch.Error, "error: --max-batch must be at least 1.");
        var key = CliHarness.Run("serve", "--model", folder.Path, "--api-key-env", "AIGC_SERVE_TEST_UNSET_KEY");
        Assert.AreEqual(ExitCodes.Failure, key.ExitCode);
        StringAssert.Contains(key.Error, "error: --api-key-env: the environment variable 'AIGC_SERVE_TEST_UNSET_KEY' is not set or is empty");
        var missing = CliHarness.Run("serve", "--model", folder.File("nope"));
        Assert.AreEqual(ExitCodes.Failure, missing.ExitCode);
        StringAssert.Contains(missing.Error, "does not exist");
    }
}
