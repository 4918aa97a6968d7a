namespace Aigc.MLNet.Cli.Pictures;

/// <summary>Atomic file writes (temp file + rename): a reader never sees half a picture.</summary>
internal static class FileWrite
{
    public static string Atomic(string path, byte[] bytes)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + ".tmp-" + Environment.ProcessId;
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, full, overwrite: true);
        return full;
    }
}
