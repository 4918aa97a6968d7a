using Spectre.Console;

namespace Aigc.MLNet.Cli;

/// <summary>Where a command writes: the rich console for progress and tables, plain writers for results and errors.</summary>
/// <param name="Console">Spectre console for progress bars and tables.</param>
/// <param name="Out">Standard output (results, generated text).</param>
/// <param name="Error">Standard error (messages).</param>
public sealed record CliContext(IAnsiConsole Console, TextWriter Out, TextWriter Error)
{
    /// <summary>Which signal, if any, asked the running command to stop.</summary>
    public StopRequest Stop { get; init; } = new();
}
