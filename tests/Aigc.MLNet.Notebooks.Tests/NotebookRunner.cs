using System.Text.Json;
using System.Text.RegularExpressions;

namespace Aigc.MLNet.Notebooks.Tests;

/// <summary>What the kernel host reported for one code cell (its 1-based position among all cells).</summary>
public sealed record CellReport(int Cell, double Seconds, List<string> Errors, List<string> Html);

/// <summary>What the kernel host reported for one notebook.</summary>
public sealed record KernelReport(string Notebook, bool Succeeded, List<CellReport> Cells);

/// <summary>The outcome of one notebook run: exit code, the host's log, its report and the executed notebook's path.</summary>
public sealed record NotebookRun(int ExitCode, string Log, KernelReport? Report, string ExecutedNotebook);

/// <summary>
/// Runs notebooks with tests/Aigc.MLNet.NotebookKernel: the .NET Interactive C# kernel in a child process whose
/// NuGet restores see the local feed through a user-level config (as notebooks/README.md tells users to set up) and a
/// packages folder where the Aigc.MLNet packages are extracted afresh.
/// </summary>
internal static partial class NotebookRunner
{
    /// <summary>Environment variable the notebooks read to shrink their sizes.</summary>
    public const string SmallSizesVariable = "AIGC_NOTEBOOK_SMALL";

    /// <summary>The kernel host's entry assembly, built beside this test project in the same configuration.</summary>
    public static string KernelHost
    {
        get
        {
            // <repo>/tests/Aigc.MLNet.Notebooks.Tests/bin/<Configuration>/<tfm>/
            var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = tfm.Parent!;
            string project = configuration.Parent!.Parent!.FullName;
            string host = Path.Combine(Path.GetDirectoryName(project)!, "Aigc.MLNet.NotebookKernel", "bin", configuration.Name, tfm.Name, "Aigc.MLNet.NotebookKernel.dll");
            if (!File.Exists(host)) Assert.Fail($"{host} is missing: build the solution first.");
            return host;
        }
    }

    /// <summary>Where the datasets were fetched (eng/fetch-data.sh): passed on, since the child's home folder is a fresh one.</summary>
    public static string DataRoot =>
        Environment.GetEnvironmentVariable("AIGC_DATA_DIR") is { Length: > 0 } d ? d
            : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "aigc-mlnet");

    /// <summary>Runs <paramref name="notebook"/> in the kernel; the executed copy (with outputs) is written to <paramref name="executedNotebook"/>.</summary>
    public static NotebookRun Run(ConsumerWorkspace workspace, string home, string notebook, string executedNotebook, bool small, TimeSpan timeout)
    {
        string report = Path.Combine(workspace.Root, Path.GetFileName(executedNotebook) + $".{Guid.NewGuid():N}.report.json");
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = home,
            ["AIGC_DATA_DIR"] = DataRoot,
            [SmallSizesVariable] = small ? "1" : null,
        };
        var (code, log) = workspace.Run("dotnet", [KernelHost, notebook, "--output", executedNotebook, "--report", report],
            Path.GetDirectoryName(notebook)!, timeout, environment);
        KernelReport? parsed = File.Exists(report) ? JsonSerializer.Deserialize<KernelReport>(File.ReadAllText(report)) : null;
        return new NotebookRun(code, log, parsed, executedNotebook);
    }

    /// <summary>The base64 PNGs among the HTML a run displayed (the last version of each displayed value).</summary>
    public static List<string> Pictures(KernelReport report) =>
        report.Cells.SelectMany(c => c.Html).SelectMany(h => PngData().Matches(h).Select(m => m.Groups[1].Value)).ToList();

    /// <summary>The source of every code cell, checking the Polyglot metadata on the way.</summary>
    public static List<string> CodeCells(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        if (root.GetProperty("nbformat").GetInt32() != 4) throw new InvalidDataException($"{path}: nbformat must be 4.");
        var meta = root.GetProperty("metadata");
        if (meta.GetProperty("kernelspec").GetProperty("name").GetString() != ".net-csharp")
            throw new InvalidDataException($"{path}: kernelspec.name must be .net-csharp.");
        if (meta.GetProperty("language_info").GetProperty("name").GetString() != "polyglot-notebook")
            throw new InvalidDataException($"{path}: language_info.name must be polyglot-notebook.");
        var cells = new List<string>();
        foreach (var cell in root.GetProperty("cells").EnumerateArray())
        {
            if (cell.GetProperty("cell_type").GetString() != "code") continue;
            var src = cell.GetProperty("source");
            cells.Add(src.ValueKind == JsonValueKind.Array ? string.Concat(src.EnumerateArray().Select(s => s.GetString())) : src.GetString() ?? "");
        }
        return cells;
    }

    /// <summary>Writes a notebook of C# code cells with Polyglot metadata (for tests of the kernel host itself).</summary>
    public static void WriteNotebook(string path, params string[] cells)
    {
        var notebook = new
        {
            cells = cells.Select(c => new Dictionary<string, object?>
            {
                ["cell_type"] = "code", ["execution_count"] = null,
                ["metadata"] = new { polyglot_notebook = new { kernelName = "csharp" } },
                ["outputs"] = Array.Empty<object>(), ["source"] = c,
            }),
            metadata = new Dictionary<string, object>
            {
                ["kernelspec"] = new { display_name = ".NET (C#)", language = "C#", name = ".net-csharp" },
                ["language_info"] = new { name = "polyglot-notebook" },
                ["polyglot_notebook"] = new { kernelInfo = new { defaultKernelName = "csharp", items = new[] { new { aliases = Array.Empty<string>(), name = "csharp" } } } },
            },
            nbformat = 4, nbformat_minor = 5,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(notebook));
    }

    [GeneratedRegex("data:image/png;base64,([A-Za-z0-9+/=]+)")]
    private static partial Regex PngData();
}
