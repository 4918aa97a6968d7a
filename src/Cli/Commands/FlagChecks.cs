using System.CommandLine;
using System.Globalization;

namespace Aigc.MLNet.Cli.Commands;

/// <summary>
/// Range checks attached to options as System.CommandLine validators: a value outside the range is a parse error
/// (exit 2, the message names the flag and the range, the usage follows) and the command never starts, so it leaves
/// nothing behind. The range is appended to the option's help text.
/// </summary>
internal static class FlagChecks
{
    /// <summary>Accepts <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static Option<int> InRange(this Option<int> option, int min, int max)
    {
        Describe(option, min, max);
        option.Validators.Add(r =>
        {
            if (Value<int>(r) is int value && (value < min || value > max)) r.AddError(OutOfRange(option.Name, value, min, max));
        });
        return option;
    }

    /// <summary>Accepts <paramref name="min"/>..<paramref name="max"/> when given.</summary>
    public static Option<int?> InRange(this Option<int?> option, int min, int max)
    {
        Describe(option, min, max);
        option.Validators.Add(r =>
        {
            if (Value<int?>(r) is int value && (value < min || value > max)) r.AddError(OutOfRange(option.Name, value, min, max));
        });
        return option;
    }

    /// <summary>Accepts <paramref name="min"/>..<paramref name="max"/> when given.</summary>
    public static Option<long?> InRange(this Option<long?> option, long min, long max)
    {
        Describe(option, min, max);
        option.Validators.Add(r =>
        {
            if (Value<long?>(r) is long value && (value < min || value > max)) r.AddError(OutOfRange(option.Name, value, min, max));
        });
        return option;
    }

    /// <summary>Accepts values up to <paramref name="max"/>; the lower bound is the caller's (a library's options check it with their own message).</summary>
    public static Option<int> AtMost(this Option<int> option, int max)
    {
        option.Validators.Add(r =>
        {
            if (Value<int>(r) is int value && value > max) r.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} must be at most {max}, got {value}."));
        });
        return option;
    }

    /// <summary>Accepts values up to <paramref name="max"/> when given; the lower bound is the caller's.</summary>
    public static Option<int?> AtMost(this Option<int?> option, int max)
    {
        option.Validators.Add(r =>
        {
            if (Value<int?>(r) is int value && value > max) r.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} must be at most {max}, got {value}."));
        });
        return option;
    }

    /// <summary>Accepts finite numbers greater than 0 (and at most <paramref name="max"/>).</summary>
    public static Option<double> Positive(this Option<double> option, double max = double.MaxValue)
    {
        option.Validators.Add(r =>
        {
            if (Value<double>(r) is double value) Check(option.Name, value, max, r.AddError);
        });
        return option;
    }

    /// <summary>Accepts finite numbers greater than 0 (and at most <paramref name="max"/>) when given.</summary>
    public static Option<double?> Positive(this Option<double?> option, double max = double.MaxValue)
    {
        option.Validators.Add(r =>
        {
            if (Value<double?>(r) is double value) Check(option.Name, value, max, r.AddError);
        });
        return option;
    }

    /// <summary>Accepts between <paramref name="min"/> and <paramref name="max"/> repetitions of the option.</summary>
    public static Option<string[]> Repeated(this Option<string[]> option, int min, int max)
    {
        option.Validators.Add(r =>
        {
            int count = r.Tokens.Count;
            if (count < min || count > max)
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} is given {count} times; allowed: {min} to {max}."));
        });
        return option;
    }

    /// <summary>Accepts only the listed values (when given).</summary>
    public static Option<int> OneOf(this Option<int> option, params int[] allowed)
    {
        option.Validators.Add(r =>
        {
            if (Value<int>(r) is int value && !allowed.Contains(value)) r.AddError(NotOneOf(option.Name, value, allowed));
        });
        return option;
    }

    /// <summary>Accepts only the listed values (when given).</summary>
    public static Option<int?> OneOf(this Option<int?> option, params int[] allowed)
    {
        option.Validators.Add(r =>
        {
            if (Value<int?>(r) is int value && !allowed.Contains(value)) r.AddError(NotOneOf(option.Name, value, allowed));
        });
        return option;
    }

    private static string NotOneOf(string flag, int value, int[] allowed) =>
        string.Create(CultureInfo.InvariantCulture, $"{flag} must be {string.Join(", ", allowed[..^1])} or {allowed[^1]}, got {value}.");

    /// <summary>The usage-error message for an integer outside its range.</summary>
    public static string OutOfRange(string flag, long value, long min, long max) =>
        string.Create(CultureInfo.InvariantCulture, $"{flag} must be between {min} and {max}, got {value}.");

    // The value, or null when the text did not convert (System.CommandLine reports that error itself).
    private static object? Value<T>(System.CommandLine.Parsing.OptionResult result)
    {
        try
        {
            return result.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static void Check(string flag, double value, double max, Action<string> error)
    {
        if (!double.IsFinite(value) || value <= 0)
            error(string.Create(CultureInfo.InvariantCulture, $"{flag} must be a finite number greater than 0, got {value}."));
        else if (value > max)
            error(string.Create(CultureInfo.InvariantCulture, $"{flag} must be at most {max}, got {value}."));
    }

    private static void Describe(Option option, long min, long max) =>
        option.Description = string.Create(CultureInfo.InvariantCulture, $"{option.Description} [{min}..{max}]");
}
