using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>Runs bench/peers-js/bench.mjs (transformers.js on onnxruntime-node) in a child process and reads its JSON.</summary>
internal static class PeerJs
{
    /// <summary>Walks up from the working directory and the executable to find bench/peers-js.</summary>
    public static string? FindScriptFolder(string? given)
    {
        if (given is not null) return File.Exists(Path.Combine(given, "bench.mjs")) ? Path.GetFullPath(given) : null;
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "bench", "peers-js");
                if (File.Exists(Path.Combine(candidate, "bench.mjs"))) return candidate;
            }
        return null;
    }

    /// <summary>The "check" entries: prompt, prompt ids and new ids per prompt.</summary>
    public static List<(string Prompt, int[] PromptIds, int[] NewIds)> CheckEntries(JsonObject js)
    {
        var list = new List<(string, int[], int[])>();
        if (js["check"] is JsonArray check)
            foreach (var e in check)
                list.Add((e!["prompt"]!.GetValue<string>(), e["promptIds"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray(),
                    e["newIds"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray()));
        return list;
    }

    public static string Describe(JsonObject js) => js["error"] is JsonNode e ? "not run: " + e.GetValue<string>()
        : $"transformers.js {js["transformersVersion"]}, onnxruntime-node {js["onnxruntimeNodeVersion"]}, node {js["node"]}, session options {js["sessionOptions"]?.ToJsonString(new JsonSerializerOptions { WriteIndented = false })}";
}

/// <summary>
/// bench.mjs in --serve mode: transformers.js stays loaded in a child process and runs one timed generation per request,
/// so the harness can interleave it with the C# runtimes inside every repetition.
/// </summary>
internal sealed class PeerJsServer : IDisposable
{
    private readonly Process _process;

    private PeerJsServer(Process process) => _process = process;

    /// <summary>Starts the server; null (and <paramref name="meta"/> holding an "error") when it cannot run.</summary>
    public static PeerJsServer? TryStart(string? scriptFolder, BenchModel model, BenchSettings s, string checkPromptsFile, string outFile, out JsonObject meta)
    {
        meta = new JsonObject();
        if (scriptFolder is null) { meta["error"] = "bench/peers-js/bench.mjs not found (pass --js-dir)."; return null; }
        if (!Directory.Exists(Path.Combine(scriptFolder, "node_modules", "@huggingface", "transformers")))
        {
            meta["error"] = $"transformers.js is not installed: run `npm ci --ignore-scripts` in {scriptFolder}.";
            return null;
        }
        var psi = new ProcessStartInfo("node") { WorkingDirectory = scriptFolder, RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (var a in new[]
        {
            "bench.mjs", "--serve", "--model", model.Folder, "--out", outFile, "--threads", s.Threads.ToString(CultureInfo.InvariantCulture),
            "--prompt", s.Prompt, "--check-prompts", checkPromptsFile, "--check-tokens", s.CheckTokens.ToString(CultureInfo.InvariantCulture),
        }) psi.ArgumentList.Add(a);
        if (File.Exists(outFile)) File.Delete(outFile);
        Process? process;
        try
        {
            process = Process.Start(psi);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            meta["error"] = $"node could not be started: {e.Message}";
            return null;
        }
        if (process is null) { meta["error"] = "node did not start."; return null; }
        string? first = process.StandardOutput.ReadLine();
        if (first != "ready" || !File.Exists(outFile))
        {
            process.WaitForExit(5000);
            meta["error"] = $"node did not become ready (exit code {(process.HasExited ? process.ExitCode.ToString(CultureInfo.InvariantCulture) : "none")}, said '{first}').";
            if (!process.HasExited) process.Kill();
            process.Dispose();
            return null;
        }
        meta = JsonNode.Parse(File.ReadAllText(outFile))!.AsObject();
        return new PeerJsServer(process);
    }

    /// <summary>One greedy generation of <paramref name="maxNew"/> tokens at <paramref name="batch"/>; node's own timing.</summary>
    public (int Produced, double? Ms) Generate(int batch, int maxNew)
    {
        _process.StandardInput.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"batch\":{batch},\"maxNew\":{maxNew}}}"));
        _process.StandardInput.Flush();
        string line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("transformers.js exited during a request.");
        var reply = JsonNode.Parse(line)!.AsObject();
        if (reply["error"] is JsonNode error) throw new InvalidOperationException("transformers.js: " + error.GetValue<string>());
        return (reply["produced"]!.GetValue<int>(), reply["ms"]!.GetValue<double>());
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine();
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(30_000)) _process.Kill();
            }
        }
        catch (IOException)
        {
            // The pipe is gone: node has already exited.
        }
        _process.Dispose();
    }
}
