namespace Aigc.MLNet.Cli;

/// <summary>Exit codes of <c>aigc</c>, following shell conventions.</summary>
public static class ExitCodes
{
    /// <summary>The command succeeded.</summary>
    public const int Success = 0;

    /// <summary>The command ran and failed (missing file, bad model, ...); a one-line message says why.</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong (unknown flag, bad value); usage is printed.</summary>
    public const int Usage = 2;

    /// <summary>Stopped by Ctrl+C (128 + SIGINT), after writing what could be kept.</summary>
    public const int Cancelled = 130;

    /// <summary>Stopped by SIGTERM (128 + SIGTERM, what a container runtime or scheduler sends), after writing what could be kept.</summary>
    public const int Terminated = 143;
}
