using System.CommandLine;
using Aigc.MLNet.Cli.Commands;
using Spectre.Console;

namespace Aigc.MLNet.Cli;

/// <summary>The <c>aigc</c> command line: builds the command tree and runs it with shell-friendly exit codes.</summary>
public static class AigcApp
{
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

    /// <summary>Runs the command line on the process console; Ctrl+C cancels the running command cleanly.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // The first Ctrl+C asks the command to stop at a safe point; a second one ends the process.
            if (!cts.IsCancellationRequested)
            {
                e.Cancel = true;
                cts.Cancel();
            }
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var context = new CliContext(AnsiConsole.Console, Console.Out, Console.Error);
            return await RunAsync(args, context, cts.Token).ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Runs the command line with the given console and writers (tests capture them).</summary>
    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var root = BuildRootCommand(context);
        ParseResult parse = root.Parse(args);
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
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.Error.WriteLine("Cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (CliException e)
        {
            context.Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A shell user gets the message; AIGC_DEBUG=1 adds the stack trace for bug reports.
            context.Error.WriteLine($"error: {e.Message}");
            if (Environment.GetEnvironmentVariable("AIGC_DEBUG") == "1") context.Error.WriteLine(e);
            return ExitCodes.Failure;
        }
    }
}
