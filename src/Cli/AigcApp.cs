using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using Aigc.MLNet.Cli.Commands;
using Spectre.Console;

namespace Aigc.MLNet.Cli;

/// <summary>The <c>aigc</c> command line: builds the command tree and runs it with shell-friendly exit codes.</summary>
public static class AigcApp
{
    /// <summary>
    /// Commands that keep state a signal must not lose (training checkpoints, a server's requests in flight, a file
    /// being written, a child process): Ctrl+C or SIGTERM asks them to stop at a safe point. Any other command ends at
    /// once, as the signal's default does.
    /// </summary>
    internal static readonly IReadOnlySet<string> StopsCleanly = new HashSet<string>(StringComparer.Ordinal)
    {
        "train gpt", "train lstm", "train gan", "train vae", "quickstart", "serve", "data fetch", "generate images", "evaluate images",
    };

    /// <summary>Builds the root command with every verb.</summary>
    public static RootCommand BuildRootCommand(CliContext context)
    {
        var root = new RootCommand("aigc: train, export, generate and evaluate small generative models with Aigc.MLNet (ML.NET + TorchSharp + ONNX Runtime).");
        root.Add(DataCommands.Create(context));
        root.Add(TrainCommands.Create(context));
        root.Add(ExportCommands.Create(context));
        root.Add(ConvertCommands.Create(context));
        root.Add(QuantizeCommand.Create(context));
        root.Add(GenerateCommands.Create(context));
        root.Add(EvaluateCommands.Create(context));
        root.Add(QuickstartCommand.Create(context));
        root.Add(ServeCommand.Create(context));
        return root;
    }

    /// <summary>
    /// Runs the command line on the process console. Ctrl+C (SIGINT) and SIGTERM stop a long-running command at a safe
    /// point (training writes the checkpoint of its last completed step) and exit 130 or 143; a second signal ends the
    /// process at once.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        using var cts = new CancellationTokenSource();
        var context = new CliContext(AnsiConsole.Console, Console.Out, Console.Error);
        var stop = context.Stop;
        // True keeps the process alive (the command stops itself); false lets the signal's default end it now.
        bool Request(string signal)
        {
            if (!stop.StopsCleanly || !stop.TryRecord(signal)) return false;
            cts.Cancel();
            return true;
        }
        ConsoleCancelEventHandler onCancel = (_, e) => e.Cancel = Request(StopRequest.SigInt);
        Console.CancelKeyPress += onCancel;
        PosixSignalRegistration? onTerm = null;
        try
        {
            onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = Request(StopRequest.SigTerm));
        }
        catch (PlatformNotSupportedException)
        {
            // No SIGTERM on this platform: the default handling stays.
        }
        try
        {
            return await RunAsync(args, context, cts.Token).ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            onTerm?.Dispose();
        }
    }

    /// <summary>Runs the command line with the given console and writers (tests capture them).</summary>
    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var root = BuildRootCommand(context);
        ParseResult parse = root.Parse(args);
        context.Stop.StopsCleanly = parse.Errors.Count == 0 && StopsCleanly.Contains(CommandPath(parse));
        var config = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };
        try
        {
            int code = await parse.InvokeAsync(config, cancellationToken).ConfigureAwait(false);
            // System.CommandLine prints the errors and the usage; shells expect 2 for a wrong command line.
            return parse.Errors.Count > 0 ? ExitCodes.Usage : code;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && FailureMessage.Cause(e) is OperationCanceledException)
        {
            context.Error.WriteLine($"Stopped by {context.Stop.Cause}.");
            return context.Stop.ExitCode;
        }
        catch (CliException e)
        {
            context.Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A shell user gets the cause in one line; AIGC_DEBUG=1 adds the full exception for bug reports.
            context.Error.WriteLine($"error: {FailureMessage.For(e)}");
            if (Environment.GetEnvironmentVariable("AIGC_DEBUG") == "1") context.Error.WriteLine(e);
            return ExitCodes.Failure;
        }
    }

    /// <summary>The verb path of the parsed command, e.g. "train gpt".</summary>
    internal static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (SymbolResult? r = parse.CommandResult; r is CommandResult c && c.Parent is not null; r = c.Parent) names.Add(c.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}
