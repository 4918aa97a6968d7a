using System.Diagnostics;
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

    /// <summary>Runs the script; returns its JSON, or an object with an "error" member saying why it could not run.</summary>
    public static JsonObject Run(string? scriptFolder, BenchModel model, BenchSettings s, string checkPromptsFile, string outFile)
    {
        if (scriptFolder is null)
            return Error("bench/peers-js/bench.mjs not found (pass --js-dir).");
        if (!Directory.Exists(Path.Combine(scriptFolder, "node_modules", "@huggingface", "transformers")))
            return Error($"transformers.js is not installed: run `npm install --ignore-scripts` in {scriptFolder}.");
        var psi = new ProcessStartInfo("node") { WorkingDirectory = scriptFolder, RedirectStandardError = false, RedirectStandardOutput = true };
        foreach (var a in new[]
        {
            "bench.mjs", "--model", model.Folder, "--out", outFile, "--threads", s.Threads.ToString(),
            "--new-tokens", s.NewTokens.ToString(), "--reps", s.Reps.ToString(), "--warmup", s.Warmup.ToString(),
            "--batches", string.Join(",", s.Batches), "--prompt", s.Prompt,
            "--check-prompts", checkPromptsFile, "--check-tokens", s.CheckTokens.ToString(),
        }) psi.ArgumentList.Add(a);
        if (File.Exists(outFile)) File.Delete(outFile);
        try
        {
            using var process = Process.Start(psi) ?? throw new InvalidOperationException("node did not start.");
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0 || !File.Exists(outFile))
                return Error($"node exited with code {process.ExitCode}. {stdout.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return Error($"node could not be started: {e.Message}");
        }
        return JsonNode.Parse(File.ReadAllText(outFile))!.AsObject();
    }

    private static JsonObject Error(string message) => new() { ["error"] = message };

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

    /// <summary>The timing entries as <see cref="Timing"/> records.</summary>
    public static List<Timing> Timings(JsonObject js, string model)
    {
        var list = new List<Timing>();
        if (js["timings"] is JsonArray timings)
            foreach (var t in timings)
            {
                int batch = t!["batch"]!.GetValue<int>();
                if (t["error"] is JsonNode error)
                {
                    list.Add(new Timing("transformers.js", model, batch, 0, 0, double.NaN, double.NaN, double.NaN, [], [], error.GetValue<string>()));
                    continue;
                }
                list.Add(new Timing("transformers.js", model, batch, t["newTokens"]!.GetValue<int>(), t["reps"]!.GetValue<int>(),
                    t["ttftMs"]!.GetValue<double>(), t["totalMs"]!.GetValue<double>(), t["decodeTokensPerSecond"]!.GetValue<double>(),
                    t["t1Ms"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray(), t["tnMs"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray()));
            }
        return list;
    }

    public static string Describe(JsonObject js) => js["error"] is JsonNode e ? "not run: " + e.GetValue<string>()
        : $"transformers.js {js["transformersVersion"]}, onnxruntime-node {js["onnxruntimeNodeVersion"]}, node {js["node"]}, session options {js["sessionOptions"]?.ToJsonString(new JsonSerializerOptions { WriteIndented = false })}";
}
