using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Aigc.MLNet.Transforms.Serving;

/// <summary>SHA-256 fingerprints that tie a saved pipeline to the exact model files it was built with.</summary>
public static class FileFingerprint
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> s_hashes = new();

    /// <summary>Lower-case hex SHA-256 of a file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static string Sha256(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>
    /// <see cref="Sha256"/> computed once per (full path, size, last write time) in this process: a pipeline that verifies
    /// a 500 MB model each time its session is created hashes it once.
    /// </summary>
    internal static string Sha256Cached(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        return s_hashes.GetOrAdd((info.FullName, info.Length, info.LastWriteTimeUtc), _ => Sha256(path));
    }

    /// <summary>Throws a clear error when <paramref name="path"/> is missing or its content changed.</summary>
    /// <param name="path">The file.</param>
    /// <param name="expectedSha256">Hash recorded when the pipeline was built.</param>
    /// <param name="what">What the file is, for the message (e.g. "GAN generator").</param>
    public static void Verify(string path, string expectedSha256, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"The {what} '{path}' used by this pipeline is missing: was the model folder moved or deleted? " +
                "Keep the folder at the path it had when the pipeline was built, or rebuild the pipeline.", path);
        string actual = Sha256(path);
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"The {what} '{path}' changed since this pipeline was built (SHA-256 {actual}, expected {expectedSha256}). " +
                "Rebuild the pipeline from the current model folder.");
    }
}
