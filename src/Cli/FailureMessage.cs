using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Aigc.MLNet.Cli;

/// <summary>
/// Turns an exception into the one line <c>aigc</c> prints after <c>error:</c>: the real cause (not ML.NET's or the
/// runtime's wrapper), its first line only (libtorch appends its C++ stack frames to the message), without .NET's
/// "(Parameter 'x')" and "Actual value was" decorations.
/// </summary>
internal static partial class FailureMessage
{
    // ML.NET's cursors rethrow a row's exception wrapped in an InvalidOperationException with one of these messages.
    private static readonly string[] s_wrapperMessages =
    [
        "Splitter/consolidator worker encountered exception while consuming source data",
        "Stream reading encountered exception",
    ];

    /// <summary>The one-line message for <paramref name="exception"/>.</summary>
    public static string For(Exception exception)
    {
        var cause = Cause(exception);
        if (NativeAllocationBytes(cause) is long bytes)
            return $"out of memory: libtorch could not allocate {Size(bytes)} for one tensor; use smaller sizes.";
        return FirstLine(cause);
    }

    /// <summary>The exception that says what went wrong: wrappers (ML.NET's cursor, reflection, aggregates) are unwrapped.</summary>
    public static Exception Cause(Exception exception)
    {
        var e = exception;
        while (true)
        {
            Exception? inner = e switch
            {
                AggregateException { InnerExceptions.Count: 1 } a => a.InnerExceptions[0],
                TargetInvocationException { InnerException: { } i } => i,
                TypeInitializationException { InnerException: { } i } => i,
                InvalidOperationException { InnerException: { } i } when e.GetType() == typeof(InvalidOperationException)
                    && s_wrapperMessages.Any(m => e.Message.StartsWith(m, StringComparison.Ordinal)) => i,
                _ => null,
            };
            if (inner is null) return e;
            e = inner;
        }
    }

    /// <summary>The size libtorch failed to allocate, when <paramref name="exception"/> is its allocation failure.</summary>
    public static long? NativeAllocationBytes(Exception exception)
    {
        var match = AllocationFailure().Match(exception.Message);
        return match.Success && long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) ? bytes : null;
    }

    /// <summary>A byte count for people: "120 GB (120,000,000,000 bytes)".</summary>
    public static string Size(long bytes)
    {
        string[] units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]} ({bytes:N0} bytes)");
    }

    private static string FirstLine(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
            message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        string line = message.Split('\n', 2)[0].TrimEnd('\r', ' ');
        return line.Length > 0 ? line : e.GetType().Name;
    }

    [GeneratedRegex(@"can't allocate memory: you tried to allocate (\d+) bytes")]
    private static partial Regex AllocationFailure();
}
