using System.Diagnostics;
using System.Text.Json;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;

// Runs one Polyglot notebook in the .NET Interactive C# kernel, cell by cell, the way VS Code's Polyglot Notebooks
// does: the kernel is configured as dotnet-interactive configures its C# kernel for a browser front end (#r/#i NuGet
// directives, the kernel helpers display/HTML, HTML as the default MIME type), the working directory is the notebook's
// folder, and nothing else is imported or referenced. Usage:
//   Aigc.MLNet.NotebookKernel <notebook.ipynb> [--output <executed.ipynb>] [--report <report.json>]
// Exit code 0 when every cell ran without an error, 1 when a cell failed (the report names it), 2 on bad arguments.

if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: Aigc.MLNet.NotebookKernel <notebook.ipynb> [--output <executed.ipynb>] [--report <report.json>]");
    return 2;
}
string notebookPath = Path.GetFullPath(args[0]);
string? outputPath = null, reportPath = null;
for (int i = 1; i < args.Length; i++)
{
    if (args[i] == "--output" && i + 1 < args.Length) outputPath = Path.GetFullPath(args[++i]);
    else if (args[i] == "--report" && i + 1 < args.Length) reportPath = Path.GetFullPath(args[++i]);
    else
    {
        Console.Error.WriteLine($"unknown argument '{args[i]}'");
        return 2;
    }
}
if (!File.Exists(notebookPath))
{
    Console.Error.WriteLine($"notebook not found: {notebookPath}");
    return 2;
}

Formatter.DefaultMimeType = HtmlFormatter.MimeType;
Formatter.SetPreferredMimeTypesFor(typeof(string), PlainTextFormatter.MimeType);

var csharp = new CSharpKernel()
    .UseNugetDirective((kernel, packages) =>
    {
        kernel.AddAssemblyReferences(packages.SelectMany(p => p.AssemblyPaths));
        return Task.CompletedTask;
    })
    .UseKernelHelpers();
using var composite = new CompositeKernel { csharp };
composite.DefaultKernelName = csharp.Name;

var kernelInfos = new KernelInfoCollection { new("csharp", languageName: "C#", aliases: ["c#", "cs"]) };
kernelInfos.DefaultKernelName = "csharp";
InteractiveDocument document;
using (var stream = File.OpenRead(notebookPath)) document = Notebook.Read(stream, kernelInfos);

Directory.SetCurrentDirectory(Path.GetDirectoryName(notebookPath)!);
var report = new List<CellReport>();
bool failed = false;
int executionCount = 0;
int cellNumber = 0;
foreach (var element in document.Elements)
{
    cellNumber++;
    bool isCode = element.KernelName is "csharp" or "C#" or "c#";
    if (!isCode) continue;
    if (failed) { element.Outputs.Clear(); continue; }
    element.Outputs.Clear();
    element.ExecutionOrder = ++executionCount;
    var clock = Stopwatch.StartNew();
    var result = await composite.SendAsync(new SubmitCode(element.Contents, csharp.Name));
    var outputs = new Dictionary<string, InteractiveDocumentOutputElement>();
    var order = new List<string>();
    var errors = new List<string>();
    int anonymous = 0;
    void Put(string id, InteractiveDocumentOutputElement output)
    {
        if (!outputs.ContainsKey(id)) order.Add(id);
        outputs[id] = output;
    }
    foreach (var e in result.Events)
    {
        switch (e)
        {
            case ReturnValueProduced r:
                var ret = new ReturnValueElement { ExecutionOrder = element.ExecutionOrder };
                foreach (var f in r.FormattedValues) ret.Data[f.MimeType] = f.Value;
                Put(r.ValueId ?? $"anon{anonymous++}", ret);
                break;
            case DisplayEvent d when d is DisplayedValueProduced or DisplayedValueUpdated:
                // An update (e.g. package-restore progress) replaces the output it updates, as in the notebook front end.
                Put(d.ValueId ?? $"anon{anonymous++}", new DisplayElement(d.FormattedValues.ToDictionary(f => f.MimeType, f => (object)f.Value)));
                break;
            case StandardOutputValueProduced o:
                Put($"anon{anonymous++}", new TextElement(string.Concat(o.FormattedValues.Select(f => f.Value)), "stdout"));
                break;
            case StandardErrorValueProduced se:
                Put($"anon{anonymous++}", new TextElement(string.Concat(se.FormattedValues.Select(f => f.Value)), "stderr"));
                break;
            case DiagnosticsProduced diagnostics:
                errors.AddRange(diagnostics.Diagnostics.Where(x => x.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error).Select(x => x.ToString()));
                break;
            case CommandFailed f:
                errors.Add(f.Exception?.ToString() ?? f.Message);
                Put($"anon{anonymous++}", new ErrorElement(f.Exception?.GetType().Name ?? "Error", f.Message, (f.Exception?.StackTrace ?? "").Split('\n')));
                break;
        }
    }
    foreach (string id in order) element.Outputs.Add(outputs[id]);
    var htmls = order.Select(id => outputs[id] switch
        {
            DisplayElement d => d.Data,
            ReturnValueElement r => r.Data,
            _ => null,
        })
        .Select(data => data is not null && data.TryGetValue(HtmlFormatter.MimeType, out var html) ? html as string : null).OfType<string>().ToList();
    errors = errors.Distinct().ToList();
    report.Add(new CellReport(cellNumber, clock.Elapsed.TotalSeconds, errors, htmls));
    Console.Error.WriteLine($"{Path.GetFileName(notebookPath)} cell {cellNumber}: {clock.Elapsed.TotalSeconds:F1} s{(errors.Count > 0 ? " FAILED" : "")}");
    if (errors.Count > 0)
    {
        failed = true;
        Console.Error.WriteLine(string.Join("\n", errors));
    }
}

if (outputPath is not null) WriteAtomically(outputPath, document.ToJupyterJson());
if (reportPath is not null)
    WriteAtomically(reportPath, JsonSerializer.Serialize(new NotebookReport(notebookPath, !failed, report), new JsonSerializerOptions { WriteIndented = true }));
// End the process here, without disposing the kernels: once their teardown has run, a finalizer of a native-backed
// object a cell made (SkiaSharp's, through ScottPlot) could no longer resolve its library and aborted the process
// (exit 134, DllNotFoundException on the finalizer thread) after every cell had passed. .NET runs no finalizers at exit.
Console.Out.Flush();
Console.Error.Flush();
Environment.Exit(failed ? 1 : 0);
return failed ? 1 : 0;

static void WriteAtomically(string path, string text)
{
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    string temp = path + ".tmp-" + Environment.ProcessId;
    File.WriteAllText(temp, text);
    File.Move(temp, path, overwrite: true);
}

/// <summary>What one code cell did: its 1-based position among all cells, time, errors, and the HTML it displayed.</summary>
internal sealed record CellReport(int Cell, double Seconds, List<string> Errors, List<string> Html);

/// <summary>The run of one notebook.</summary>
internal sealed record NotebookReport(string Notebook, bool Succeeded, List<CellReport> Cells);
