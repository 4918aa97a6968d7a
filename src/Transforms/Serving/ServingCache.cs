namespace Aigc.MLNet.Transforms.Serving;

/// <summary>
/// Process-wide, thread-safe cache of the heavy objects (ONNX Runtime sessions, tokenizers) behind configured mappings,
/// keyed by their configuration so every row of every cursor, and every pipeline on the same model, shares one instance.
/// </summary>
/// <remarks>
/// Entries are reference-counted. A fitted transformer holds a <see cref="ServingLease{T}"/> from <see cref="Acquire{T}"/>;
/// when the last lease of an entry is disposed, the entry leaves the cache and its value is disposed (an ONNX Runtime
/// session frees its memory) as soon as no row is using it (<see cref="Use{T, TResult}"/> marks a use).
/// <see cref="GetOrCreate{T}"/> and <see cref="Use{T, TResult}"/> look an entry up without a lease: the rows of a pipeline
/// loaded with <c>mlContext.Model.Load</c> do, because ML.NET gives such pipelines no way to say when they are done; an
/// entry created that way stays until <see cref="Clear"/>, or until a lease on it is taken and released.
/// </remarks>
public static class ServingCache
{
    private static readonly object s_lock = new();
    private static readonly Dictionary<string, Entry> s_entries = new(StringComparer.Ordinal);

    /// <summary>Returns the instance for <paramref name="key"/>, creating it once with <paramref name="create"/>, without taking a lease.</summary>
    /// <remarks>A failed creation is not cached, so a fixed folder can be retried.</remarks>
    public static T GetOrCreate<T>(string key, Func<T> create) where T : class
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(create);
        Entry entry;
        lock (s_lock)
            entry = GetOrAddEntry(key, create);
        return Value<T>(key, entry);
    }

    /// <summary>
    /// Runs <paramref name="use"/> on the instance for <paramref name="key"/> (created once with <paramref name="create"/>),
    /// without taking a lease; the instance is not disposed while <paramref name="use"/> runs, even if its last lease is
    /// released meanwhile.
    /// </summary>
    public static TResult Use<T, TResult>(string key, Func<T> create, Func<T, TResult> use) where T : class
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(use);
        Entry entry;
        lock (s_lock)
        {
            entry = GetOrAddEntry(key, create);
            entry.Busy++;
        }
        try
        {
            return use(Value<T>(key, entry));
        }
        finally
        {
            EndUse(entry);
        }
    }

    /// <summary>
    /// Returns a lease on the instance for <paramref name="key"/>, creating it with <paramref name="create"/> when absent.
    /// Disposing the last lease of the entry removes it and disposes the instance when it is <see cref="IDisposable"/>.
    /// </summary>
    /// <exception cref="Exception">Whatever <paramref name="create"/> throws; nothing stays cached then.</exception>
    public static ServingLease<T> Acquire<T>(string key, Func<T> create) where T : class
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(create);
        Entry entry;
        lock (s_lock)
        {
            entry = GetOrAddEntry(key, create);
            entry.Leases++;
        }
        try
        {
            return new ServingLease<T>(key, entry, Value<T>(key, entry));
        }
        catch
        {
            Release(key, entry);
            throw;
        }
    }

    /// <summary>True when an entry for <paramref name="key"/> is cached.</summary>
    public static bool Contains(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (s_lock)
            return s_entries.ContainsKey(key);
    }

    /// <summary>Number of cached entries.</summary>
    public static int Count
    {
        get
        {
            lock (s_lock)
                return s_entries.Count;
        }
    }

    /// <summary>
    /// Removes every entry no lease holds (those created for loaded pipelines) and disposes their values once no row uses
    /// them; entries held by live transformers stay until the transformers are disposed.
    /// </summary>
    public static void Clear()
    {
        var dispose = new List<Entry>();
        lock (s_lock)
        {
            foreach (var (key, entry) in s_entries.ToArray())
            {
                if (entry.Leases > 0)
                    continue;
                s_entries.Remove(key);
                if (MarkRemoved(entry))
                    dispose.Add(entry);
            }
        }
        foreach (var entry in dispose)
            entry.DisposeValue();
    }

    internal static void Release(string key, Entry entry)
    {
        bool dispose = false;
        lock (s_lock)
        {
            if (entry.Leases <= 0)
                return;
            entry.Leases--;
            if (entry.Leases == 0 && !entry.Removed)
            {
                if (s_entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
                    s_entries.Remove(key);
                dispose = MarkRemoved(entry);
            }
        }
        if (dispose)
            entry.DisposeValue();
    }

    /// <summary>Under the lock: marks a removed entry; true when its value can be disposed now (no row is using it).</summary>
    private static bool MarkRemoved(Entry entry)
    {
        entry.Removed = true;
        if (entry.Busy == 0)
            return true;
        entry.DisposeWhenIdle = true;
        return false;
    }

    private static void EndUse(Entry entry)
    {
        bool dispose = false;
        lock (s_lock)
        {
            entry.Busy--;
            if (entry.Busy == 0 && entry.DisposeWhenIdle)
            {
                entry.DisposeWhenIdle = false;
                dispose = true;
            }
        }
        if (dispose)
            entry.DisposeValue();
    }

    private static Entry GetOrAddEntry<T>(string key, Func<T> create) where T : class
    {
        if (!s_entries.TryGetValue(key, out var entry))
        {
            entry = new Entry(() => create());
            s_entries[key] = entry;
        }
        return entry;
    }

    private static T Value<T>(string key, Entry entry) where T : class
    {
        object value;
        try
        {
            value = entry.Lazy.Value;
        }
        catch
        {
            lock (s_lock)
            {
                if (s_entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
                    s_entries.Remove(key);
                entry.Removed = true;
            }
            throw;
        }
        return value as T ?? throw new InvalidOperationException($"The cached entry '{key}' holds {value.GetType().Name}, not {typeof(T).Name}.");
    }

    internal sealed class Entry(Func<object> create)
    {
        public Lazy<object> Lazy { get; } = new(create, LazyThreadSafetyMode.ExecutionAndPublication);

        public int Leases { get; set; }

        public bool Removed { get; set; }

        /// <summary>Rows using the value right now (<see cref="Use{T, TResult}"/>).</summary>
        public int Busy { get; set; }

        /// <summary>Removed while busy: the last use disposes the value.</summary>
        public bool DisposeWhenIdle { get; set; }

        public void DisposeValue()
        {
            if (Lazy.IsValueCreated && Lazy.Value is IDisposable disposable)
            {
                disposable.Dispose();
                NativeHeap.Trim();
            }
        }
    }
}

/// <summary>A counted reference to a <see cref="ServingCache"/> entry; dispose it once when done with <see cref="Value"/>.</summary>
/// <typeparam name="T">The cached type.</typeparam>
public sealed class ServingLease<T> : IDisposable where T : class
{
    private readonly string _key;
    private readonly ServingCache.Entry _entry;
    private readonly T _value;
    private int _disposed;

    internal ServingLease(string key, ServingCache.Entry entry, T value)
    {
        _key = key;
        _entry = entry;
        _value = value;
    }

    /// <summary>The cached instance.</summary>
    /// <exception cref="ObjectDisposedException">The lease was disposed.</exception>
    public T Value
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _value;
        }
    }

    /// <summary>The cache key.</summary>
    public string Key => _key;

    /// <summary>Releases the reference; the last one disposes the instance.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            ServingCache.Release(_key, _entry);
    }
}
