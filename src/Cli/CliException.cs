namespace Aigc.MLNet.Cli;

/// <summary>A failure whose message is meant for the shell user as is (no stack trace).</summary>
public sealed class CliException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CliException(string message, int exitCode = ExitCodes.Failure) : base(message) => ExitCode = exitCode;

    /// <summary>The exit code to return.</summary>
    public int ExitCode { get; }
}
