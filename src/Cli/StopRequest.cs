namespace Aigc.MLNet.Cli;

/// <summary>
/// Which signal asked the running command to stop, so that it can say so and exit with the matching code. Set by the
/// signal handlers of <see cref="AigcApp.RunAsync(string[])"/>; a caller that cancels its own token (tests, a host
/// process) leaves it unset and is treated as Ctrl+C.
/// </summary>
public sealed class StopRequest
{
    private string? _signal;

    /// <summary>"Ctrl+C" or "SIGTERM", or null when no signal arrived.</summary>
    public string? Signal => Volatile.Read(ref _signal);

    /// <summary>How messages name the stop: the signal, or Ctrl+C when the caller's token was cancelled.</summary>
    public string Cause => Signal ?? "Ctrl+C";

    /// <summary><see cref="ExitCodes.Terminated"/> after SIGTERM, else <see cref="ExitCodes.Cancelled"/>.</summary>
    public int ExitCode => Signal == SigTerm ? ExitCodes.Terminated : ExitCodes.Cancelled;

    /// <summary>Whether the running command stops at a safe point on a signal (see <see cref="AigcApp.StopsCleanly"/>).</summary>
    internal bool StopsCleanly
    {
        get => Volatile.Read(ref _stopsCleanly);
        set => Volatile.Write(ref _stopsCleanly, value);
    }

    private bool _stopsCleanly;

    internal const string SigInt = "Ctrl+C", SigTerm = "SIGTERM";

    /// <summary>Records the first signal; false when one was already recorded (a second signal ends the process).</summary>
    internal bool TryRecord(string signal) => Interlocked.CompareExchange(ref _signal, signal, null) is null;
}
