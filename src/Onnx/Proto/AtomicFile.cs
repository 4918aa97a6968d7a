namespace Aigc.MLNet.Onnx.Proto;

/// <summary>Writes files atomically: content goes to a temporary file in the same folder, then is renamed over the target.</summary>
/// <remarks>
/// The temporary file is <c>.&lt;name&gt;.&lt;guid&gt;.tmp</c> beside the target, opened with <see cref="FileShare.None"/>, which
/// .NET turns into an exclusive advisory lock (<c>flock</c>) on Unix and a sharing lock on Windows. The lock lasts as long
/// as the writer lives, so a writer killed mid-write (SIGKILL, out-of-memory killer, power loss) leaves an unlocked
/// temporary file that <see cref="DeleteStaleTemporaryFiles"/> recognises and removes; every write does so for its target.
/// </remarks>
public static class AtomicFile
{
    /// <summary>A temporary file younger than this is never taken for stale: its writer may not have locked it yet.</summary>
    private static readonly TimeSpan s_minimumStaleAge = TimeSpan.FromSeconds(2);

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; on failure the old file (if any) is untouched.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        DeleteStaleTemporaryFiles(full);
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary files that killed writers of <paramref name="path"/> left beside it
    /// (<c>.&lt;name&gt;.&lt;guid&gt;.tmp</c>). A file counts as stale when no process holds its lock (its writer is gone) and it is
    /// at least two seconds old; files of live writers are left alone.
    /// </summary>
    /// <param name="path">The target file whose leftovers to remove (it need not exist).</param>
    /// <returns>The number of files deleted.</returns>
    public static int DeleteStaleTemporaryFiles(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir)) return 0;
        string name = Path.GetFileName(full);
        int deleted = 0;
        foreach (string candidate in Directory.EnumerateFiles(dir, $".{name}.*.tmp"))
        {
            if (!IsTemporaryName(Path.GetFileName(candidate), name) || !IsStale(candidate)) continue;
            try
            {
                File.Delete(candidate);
                deleted++;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return deleted;
    }

    // Only names this class makes: "." + target + "." + 32 hex digits + ".tmp".
    private static bool IsTemporaryName(string file, string target)
    {
        int guidStart = target.Length + 2;
        if (file.Length != guidStart + 32 + 4 || !file.EndsWith(".tmp", StringComparison.Ordinal)) return false;
        foreach (char c in file.AsSpan(guidStart, 32))
            if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }

    private static bool IsStale(string file)
    {
        try
        {
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(file) < s_minimumStaleAge) return false;
            // Taking the exclusive lock succeeds only when the writer that held it has exited.
            using var probe = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Writes UTF-8 text (no byte-order mark) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            byte[] bytes = new System.Text.UTF8Encoding(false).GetBytes(text);
            s.Write(bytes);
        });

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> atomically.</summary>
    public static void Copy(string source, string destination)
    {
        if (!File.Exists(source)) throw new FileNotFoundException($"File to copy not found: '{source}'.", source);
        if (Path.GetFullPath(source) == Path.GetFullPath(destination)) return;
        Write(destination, s =>
        {
            using var src = File.OpenRead(source);
            src.CopyTo(s);
        });
    }
}
