using Aigc.MLNet.Cli;
using Spectre.Console;

namespace Aigc.MLNet.Cli.Tests;

/// <summary>Runs aigc in process with captured output.</summary>
internal static class CliHarness
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static Result Run(params string[] args) => Run(CancellationToken.None, args);

    public static Result Run(CancellationToken ct, params string[] args)
    {
        var @out = new StringWriter();
        var err = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(@out), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
        });
        int code = AigcApp.RunAsync(args, new CliContext(console, @out, err), ct).GetAwaiter().GetResult();
        return new Result(code, @out.ToString(), err.ToString());
    }
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "aigc-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
