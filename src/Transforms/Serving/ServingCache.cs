using System.Collections.Concurrent;

namespace Aigc.MLNet.Transforms.Serving;

/// <summary>
/// Process-wide, thread-safe cache of the heavy objects (ONNX Runtime sessions, tokenizers) behind configured
/// mappings, keyed by their configuration string so every row of every cursor shares one instance.
/// </summary>
/// <remarks>Entries live for the process; <see cref="Clear"/> disposes them (tests, long-running hosts that reload models).</remarks>
public static class ServingCache
{
    private static readonly ConcurrentDictionary<string, Lazy<object>> s_entries = new(StringComparer.Ordinal);

    /// <summary>Returns the instance for <paramref name="key"/>, creating it once with <paramref name="create"/>.</summary>
    /// <remarks>A failed creation is not cached, so a fixed folder can be retried.</remarks>
    public static T GetOrCreate<T>(string key, Func<T> create) where T : class
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(create);
        var lazy = s_entries.GetOrAdd(key, _ => new Lazy<object>(() => create(), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value as T ?? throw new InvalidOperationException(
                $"The cached entry holds {lazy.Value.GetType().Name}, not {typeof(T).Name}.");
        }
        catch
        {
            s_entries.TryRemove(new KeyValuePair<string, Lazy<object>>(key, lazy));
            throw;
        }
    }

    /// <summary>Removes every entry and disposes those that are disposable.</summary>
    public static void Clear()
    {
        foreach (var key in s_entries.Keys.ToArray())
            if (s_entries.TryRemove(key, out var lazy) && lazy.IsValueCreated && lazy.Value is IDisposable d)
                d.Dispose();
    }
}
