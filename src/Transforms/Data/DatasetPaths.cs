namespace Aigc.MLNet.Transforms.Data;

/// <summary>
/// Where the datasets and vocabularies fetched by <c>eng/fetch-data.sh</c> live. Loaders take explicit paths; this
/// class only tells where the fetch step puts things, and fails with the command to run when a file is missing.
/// </summary>
public static class DatasetPaths
{
    /// <summary>The environment variable that overrides the cache folder.</summary>
    public const string EnvironmentVariable = "AIGC_DATA_DIR";

    /// <summary>The command that fetches every dataset into <see cref="Root"/>.</summary>
    public const string FetchCommand = "bash eng/fetch-data.sh";

    /// <summary>The cache folder: <c>$AIGC_DATA_DIR</c>, else <c>$XDG_CACHE_HOME/aigc-mlnet</c>, else <c>~/.cache/aigc-mlnet</c>.</summary>
    public static string Root
    {
        get
        {
            string? dir = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrEmpty(dir))
                return dir;
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string cache = !string.IsNullOrEmpty(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cache, "aigc-mlnet");
        }
    }

    /// <summary>The folder holding the four MNIST IDX files.</summary>
    public static string MnistFolder => Require(Path.Combine(Root, "mnist"), isFolder: true);

    /// <summary>GPT-2's <c>vocab.json</c> (the original <c>encoder.json</c>, 50,257 entries).</summary>
    public static string Gpt2VocabFile => Require(Path.Combine(Root, "gpt2", "vocab.json"));

    /// <summary>GPT-2's <c>merges.txt</c> (the original <c>vocab.bpe</c>, 50,000 merges).</summary>
    public static string Gpt2MergesFile => Require(Path.Combine(Root, "gpt2", "merges.txt"));

    /// <summary>The Tiny Shakespeare corpus (1,115,394 bytes).</summary>
    public static string TinyShakespeareFile => Require(Path.Combine(Root, "tinyshakespeare", "input.txt"));

    private static string Require(string path, bool isFolder = false)
    {
        bool exists = isFolder ? Directory.Exists(path) : File.Exists(path);
        if (!exists)
            throw new FileNotFoundException(
                $"'{path}' was not found. Fetch the datasets with `{FetchCommand}` (set {EnvironmentVariable} to use another folder).",
                path);
        return path;
    }
}
