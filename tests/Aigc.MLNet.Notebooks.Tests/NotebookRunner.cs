using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace Aigc.MLNet.Notebooks.Tests;

/// <summary>A code cell of a notebook.</summary>
public sealed record NotebookCell(int Index, string Source);

/// <summary>
/// Reads Polyglot .ipynb files and runs their C# cells in order as one Roslyn script. The notebooks' <c>#r</c> lines
/// (paths to the built assemblies, or <c>nuget:</c> packages) are translated into references to the assemblies this
/// test was built with; any other magic command fails the run.
/// </summary>
public static partial class NotebookRunner
{
    /// <summary>Environment variable the notebooks read to shrink their sizes.</summary>
    public const string SmallSizesVariable = "AIGC_NOTEBOOK_SMALL";

    /// <summary>Checks the Polyglot metadata and returns the C# code cells.</summary>
    public static IReadOnlyList<NotebookCell> ReadCells(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        if (root.GetProperty("nbformat").GetInt32() != 4) throw new InvalidDataException($"{path}: nbformat must be 4.");
        var meta = root.GetProperty("metadata");
        if (meta.GetProperty("kernelspec").GetProperty("name").GetString() != ".net-csharp")
            throw new InvalidDataException($"{path}: kernelspec.name must be .net-csharp.");
        if (meta.GetProperty("language_info").GetProperty("name").GetString() != "polyglot-notebook")
            throw new InvalidDataException($"{path}: language_info.name must be polyglot-notebook.");
        var cells = new List<NotebookCell>();
        int index = 0;
        foreach (var cell in root.GetProperty("cells").EnumerateArray())
        {
            index++;
            if (cell.GetProperty("cell_type").GetString() != "code") continue;
            string kernel = cell.GetProperty("metadata").GetProperty("polyglot_notebook").GetProperty("kernelName").GetString() ?? "";
            if (kernel != "csharp") throw new InvalidDataException($"{path}: cell {index} uses kernel '{kernel}'; only csharp cells are supported.");
            var src = cell.GetProperty("source");
            string text = src.ValueKind == JsonValueKind.Array ? string.Concat(src.EnumerateArray().Select(s => s.GetString())) : src.GetString() ?? "";
            cells.Add(new NotebookCell(index, text));
        }
        return cells;
    }

    /// <summary>
    /// Translates the <c>#r</c> lines of a cell: each must name an assembly present in <paramref name="binFolder"/>
    /// (by file name for paths, by package id for <c>nuget:</c>); returns the code without them and the assemblies named.
    /// </summary>
    public static (string Code, List<string> References) TranslateDirectives(string source, string binFolder)
    {
        var references = new List<string>();
        var code = new List<string>();
        foreach (string line in source.Split('\n'))
        {
            string trimmed = line.Trim();
            var r = ReferenceDirective().Match(trimmed);
            if (r.Success)
            {
                string target = r.Groups[1].Value;
                string file;
                if (target.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase))
                {
                    string id = target["nuget:".Length..].Split(',')[0].Trim();
                    file = id + ".dll";
                }
                else
                {
                    file = Path.GetFileName(target.Replace('\\', '/'));
                }
                string local = Path.Combine(binFolder, file);
                if (!File.Exists(local)) throw new InvalidOperationException($"#r \"{target}\": {file} is not among the built assemblies in {binFolder}.");
                references.Add(local);
                code.Add("");
                continue;
            }
            if (trimmed.StartsWith("#!", StringComparison.Ordinal) || trimmed.StartsWith("#i ", StringComparison.Ordinal))
                throw new InvalidOperationException($"Magic command '{trimmed}' is not supported by the notebook test; use plain C#.");
            code.Add(line.TrimEnd('\r'));
        }
        return (string.Join("\n", code), references);
    }

    [GeneratedRegex("^#r\\s+\"([^\"]+)\"\\s*$")]
    private static partial Regex ReferenceDirective();

    /// <summary>Runs all cells of <paramref name="path"/> in order, in <paramref name="workingFolder"/>; returns the displayed values.</summary>
    public static async Task<NotebookGlobals> RunAsync(string path, string workingFolder, Action<string>? log = null)
    {
        string bin = AppContext.BaseDirectory;
        var globals = new NotebookGlobals();
        var options = ScriptOptions.Default
            .WithImports("System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Text", "System.Threading.Tasks")
            .WithReferences(typeof(NotebookGlobals).Assembly)
            .WithEmitDebugInformation(false)
            .WithOptimizationLevel(Microsoft.CodeAnalysis.OptimizationLevel.Release);
        ScriptState<object>? state = null;
        string previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(workingFolder);
        try
        {
            foreach (var cell in ReadCells(path))
            {
                var (code, refs) = TranslateDirectives(cell.Source, bin);
                if (refs.Count > 0) options = options.AddReferences(refs.Select(r => Assembly.LoadFrom(r)));
                if (string.IsNullOrWhiteSpace(code)) continue;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    state = state is null
                        ? await CSharpScript.RunAsync(code, options, globals, typeof(NotebookGlobals)).ConfigureAwait(false)
                        : await state.ContinueWithAsync(code, options).ConfigureAwait(false);
                }
                catch (CompilationErrorException e)
                {
                    throw new InvalidOperationException($"{Path.GetFileName(path)} cell {cell.Index} does not compile:\n{string.Join("\n", e.Diagnostics)}", e);
                }
                if (state.Exception is not null)
                    throw new InvalidOperationException($"{Path.GetFileName(path)} cell {cell.Index} threw: {state.Exception.Message}", state.Exception);
                // A cell's last expression is displayed, as in Polyglot.
                if (state.ReturnValue is not null) globals.display(state.ReturnValue);
                log?.Invoke($"{Path.GetFileName(path)} cell {cell.Index}: {clock.Elapsed.TotalSeconds:F1} s");
            }
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }
        return globals;
    }
}
