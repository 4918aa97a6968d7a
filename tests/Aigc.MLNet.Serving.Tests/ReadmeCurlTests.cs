using System.Diagnostics;
using System.Text.Json;
using Aigc.MLNet.Onnx.Gpt2;

namespace Aigc.MLNet.Serving.Tests;

/// <summary>
/// The README's curl examples run as written (only the port differs) with the real curl against a server whose model
/// id is the README's, so the documented commands keep working.
/// </summary>
[TestClass]
public sealed class ReadmeCurlTests
{
    private const string Marker = "<!-- curl examples: tests/Aigc.MLNet.Serving.Tests/ReadmeCurlTests.cs runs them -->";
    private const string DocumentedBase = "http://127.0.0.1:8000";

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Aigc.MLNet.sln"))) return dir.FullName;
        throw new InvalidOperationException("The repository root (Aigc.MLNet.sln) was not found above the test binaries.");
    }

    /// <summary>The commands of the bash block after the marker, continuation lines joined.</summary>
    private static List<string> Commands()
    {
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        int at = readme.IndexOf(Marker, StringComparison.Ordinal);
        Assert.IsTrue(at >= 0, "README.md lost the curl examples' marker");
        int start = readme.IndexOf("```bash\n", at, StringComparison.Ordinal) + "```bash\n".Length;
        string block = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        return block.Replace("\\\n", " ").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
    }

    [TestMethod]
    public async Task TheReadmesCurlExamples_WorkAsWritten()
    {
        if (!File.Exists("/usr/bin/curl") && !File.Exists("/bin/curl")) Assert.Inconclusive("curl is not installed.");
        var commands = Commands();
        Assert.IsTrue(commands.Count >= 5);
        Assert.IsTrue(commands.All(c => c.StartsWith("curl ", StringComparison.Ordinal) && c.Contains(DocumentedBase)), string.Join("\n", commands));

        // A character-level model over printable ASCII, served under the README's model id.
        string folder = Path.Combine(Path.GetTempPath(), $"aigc-readme-curl-{Environment.ProcessId}");
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
        string alphabet = new(Enumerable.Range(32, 95).Select(c => (char)c).Append('\n').ToArray());
        var tokens = Gpt2TokenizerFiles.CharacterLevelFromText(alphabet);
        Gpt2Exporter.Export(Gpt2Weights.Random(new Gpt2Config
        {
            NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 256, VocabSize = tokens.Count() + 1, BosTokenId = tokens.Count(), EosTokenId = tokens.Count(), InitializerRange = 0.3f,
        }, 1), tokens, folder);
        string modelId = System.Text.RegularExpressions.Regex.Match(commands.First(c => c.Contains("\"model\"")), "\"model\": \"([^\"]+)\"").Groups[1].Value;
        await using var server = await TestModels.StartServerAsync(folder, o => o.ModelId = modelId);
        string actualBase = server.BaseAddress.ToString().TrimEnd('/');
        try
        {
            foreach (string command in commands)
            {
                var psi = new ProcessStartInfo("bash", ["-o", "pipefail", "-c", command.Replace(DocumentedBase, actualBase)])
                {
                    RedirectStandardOutput = true, RedirectStandardError = true,
                };
                using var process = Process.Start(psi)!;
                string stdout = await process.StandardOutput.ReadToEndAsync();
                string stderr = await process.StandardError.ReadToEndAsync();
                await process.WaitForExitAsync();
                Assert.AreEqual(0, process.ExitCode, $"{command}\n{stdout}\n{stderr}");
                Assert.IsTrue(stdout.Length > 0, command);
                if (command.Contains("\"stream\": true"))
                {
                    StringAssert.EndsWith(stdout, "data: [DONE]\n\n", command);
                    continue;
                }
                if (command.Contains("/metrics"))
                {
                    StringAssert.Contains(stdout, "aigc_batch_max_rows", command);
                    continue;
                }
                var json = JsonDocument.Parse(stdout).RootElement;
                Assert.IsFalse(json.TryGetProperty("error", out _), $"{command}\n{stdout}");
                if (command.Contains("/v1/models")) Assert.AreEqual(modelId, json.GetProperty("data")[0].GetProperty("id").GetString());
                if (command.Contains("completions")) Assert.IsTrue(json.GetProperty("choices").GetArrayLength() >= 1, stdout);
            }
        }
        finally
        {
            try { Directory.Delete(folder, true); } catch (IOException) { }
        }
    }
}
