namespace Aigc.MLNet.Onnx.Tests.Gpt2;

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "aigc-gpt2-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    /// <summary>The GPT-2 vocabulary folder (AIGC_DATA_DIR, else $XDG_CACHE_HOME/aigc-mlnet, else ~/.cache/aigc-mlnet), or null.</summary>
    public static string? Gpt2DataFolder()
    {
        string? root = Environment.GetEnvironmentVariable("AIGC_DATA_DIR");
        if (string.IsNullOrEmpty(root))
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            root = System.IO.Path.Combine(string.IsNullOrEmpty(xdg)
                ? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg, "aigc-mlnet");
        }
        string folder = System.IO.Path.Combine(root, "gpt2");
        return System.IO.File.Exists(System.IO.Path.Combine(folder, "vocab.json")) && System.IO.File.Exists(System.IO.Path.Combine(folder, "merges.txt"))
            ? folder : null;
    }
}
