namespace Aigc.MLNet.Cli.Jobs;

/// <summary>
/// The folders a run is about to create (each path's outermost missing ancestor). A run that fails before it has
/// written anything worth keeping removes them again, so a failed command leaves nothing behind.
/// </summary>
internal sealed class NewFolders
{
    private readonly string[] _missing;

    private NewFolders(string[] missing) => _missing = missing;

    /// <summary>Records which of <paramref name="folders"/> (or their ancestors) do not exist yet.</summary>
    public static NewFolders Track(params string[] folders) =>
        new(folders.Select(f => OutermostMissing(Path.GetFullPath(f))).OfType<string>().Distinct(StringComparer.Ordinal).ToArray());

    /// <summary>Deletes the recorded folders with everything the run put in them.</summary>
    public void Remove()
    {
        foreach (string folder in _missing)
        {
            try
            {
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private static string? OutermostMissing(string folder)
    {
        if (Directory.Exists(folder)) return null;
        string missing = folder;
        for (string? parent = Path.GetDirectoryName(folder); parent is not null && !Directory.Exists(parent); parent = Path.GetDirectoryName(parent))
            missing = parent;
        return missing;
    }
}
