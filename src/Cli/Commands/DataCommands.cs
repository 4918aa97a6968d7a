using System.CommandLine;
using System.Diagnostics;
using Aigc.MLNet.Transforms.Data;

namespace Aigc.MLNet.Cli.Commands;

/// <summary><c>aigc data fetch</c>: the datasets and vocabularies, checked by SHA-256 (runs eng/fetch-data.sh).</summary>
internal static class DataCommands
{
    public static Command Create(CliContext context)
    {
        var data = new Command("data", "Datasets used by the project (MNIST, Tiny Shakespeare, GPT-2 vocabulary).");
        var fetch = new Command("fetch", $"Fetch MNIST, Tiny Shakespeare and the GPT-2 vocabulary into the cache folder (${DatasetPaths.EnvironmentVariable} or ~/.cache/aigc-mlnet), checked by SHA-256. Idempotent.");
        var dir = new Option<string?>("--data-dir") { Description = $"Cache folder (default: ${DatasetPaths.EnvironmentVariable}, else ~/.cache/aigc-mlnet)." };
        fetch.Add(dir);
        fetch.SetAction(async (parse, ct) => await Fetch(context, parse.GetValue(dir), ct).ConfigureAwait(false));
        data.Add(fetch);
        return data;
    }

    /// <summary>Runs the fetch script; returns its exit code.</summary>
    public static async Task<int> Fetch(CliContext context, string? dataDir, CancellationToken ct)
    {
        string script = FindScript() ?? throw new CliException("eng/fetch-data.sh was not found beside the tool or in a parent folder.");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        if (dataDir is not null) start.Environment[DatasetPaths.EnvironmentVariable] = Path.GetFullPath(dataDir);
        using var process = Process.Start(start) ?? throw new CliException("could not start bash.");
        var pumpOut = Pump(process.StandardOutput, context.Out);
        var pumpErr = Pump(process.StandardError, context.Error);
        try
        {
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        await Task.WhenAll(pumpOut, pumpErr).ConfigureAwait(false);
        return process.ExitCode == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    private static async Task Pump(StreamReader reader, TextWriter writer)
    {
        string? line;
        while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null) writer.WriteLine(line);
    }

    internal static string? FindScript()
    {
        string beside = Path.Combine(AppContext.BaseDirectory, "eng", "fetch-data.sh");
        if (File.Exists(beside)) return beside;
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "eng", "fetch-data.sh");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>True when every dataset file is present.</summary>
    public static bool DataPresent()
    {
        try
        {
            _ = DatasetPaths.MnistFolder;
            _ = DatasetPaths.TinyShakespeareFile;
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidOperationException or IOException)
        {
            return false;
        }
    }
}
