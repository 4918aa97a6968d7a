namespace Aigc.MLNet.Transforms.Serving;

/// <summary>
/// Where saved pipelines look for their model files on the machine that loads them: search roots (for pipelines that
/// refer to a model folder) and the cache folder that embedded model files are extracted to (for pipelines saved with
/// <c>EmbedModel</c>).
/// </summary>
/// <remarks>
/// A saved pipeline records the model folder it was built from, that folder relative to the working directory, and the
/// SHA-256 of every file the model reads. When it runs, the folder is found in this order: the extracted embedded copy;
/// the recorded folder; the relative path under the working directory; then, under every search root (the pipeline's
/// <c>ModelSearchPaths</c> option, then the <see cref="SearchPathVariable"/> environment variable), the relative path,
/// the folder's name, the root itself and any folder up to three levels below it holding the same files. A candidate is
/// used only when every file's content matches.
/// </remarks>
public static class ModelSearch
{
    /// <summary>Environment variable listing search roots, separated by <see cref="Path.PathSeparator"/> (':' on Linux and macOS, ';' on Windows).</summary>
    public const string SearchPathVariable = "AIGC_MODEL_PATH";

    /// <summary>Environment variable naming the cache folder for embedded model files (see <see cref="CacheFolder"/>).</summary>
    public const string CacheFolderVariable = "AIGC_MODEL_CACHE";

    private static string? s_cacheFolder;

    /// <summary>
    /// The folder embedded model files are extracted to, one sub-folder per model content hash. Defaults to
    /// <see cref="CacheFolderVariable"/> when set, else <c>Aigc.MLNet/models</c> under the user's local application data
    /// folder (or the temporary folder when there is none). Setting it affects pipelines that have not extracted their
    /// files yet.
    /// </summary>
    /// <exception cref="ArgumentException">The value is empty.</exception>
    public static string CacheFolder
    {
        get => s_cacheFolder ?? DefaultCacheFolder();
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value, nameof(CacheFolder));
            s_cacheFolder = Path.GetFullPath(value);
        }
    }

    /// <summary>The search roots from <see cref="SearchPathVariable"/>, in order (empty entries ignored).</summary>
    public static IReadOnlyList<string> EnvironmentSearchPaths() =>
        (Environment.GetEnvironmentVariable(SearchPathVariable) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Checks search roots given in an options object: no empty entries.</summary>
    internal static string[] Validate(IEnumerable<string>? paths, string optionName)
    {
        if (paths is null)
            return [];
        var list = paths.ToArray();
        for (int i = 0; i < list.Length; i++)
            if (string.IsNullOrWhiteSpace(list[i]))
                throw new ArgumentException($"{optionName}[{i}] is empty; each entry must name a folder to search for model files.", optionName);
        return list;
    }

    private static string DefaultCacheFolder()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(CacheFolderVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            return Path.GetFullPath(fromEnvironment);
        string local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return Path.Combine(string.IsNullOrEmpty(local) ? Path.GetTempPath() : local, "Aigc.MLNet", "models");
    }
}
