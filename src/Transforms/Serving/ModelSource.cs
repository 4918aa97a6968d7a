using System.Security.Cryptography;
using System.Text;
using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Transforms.Serving;

/// <summary>A file a served model reads: its path inside the model folder ('/' separators), its size and lower-case hex SHA-256.</summary>
internal sealed record ModelFileEntry(string Path, long Length, string Sha256);

/// <summary>
/// The model files a saved pipeline depends on, as carried in its configuration: the folder it was built from, every file
/// the model reads with its SHA-256, the optional files that were absent (one appearing later would change what the model
/// reads), and how to find the files elsewhere (see <see cref="ModelSearch"/>). <see cref="Resolve"/> returns a folder
/// whose files match, or fails naming the file that differs or the places searched.
/// </summary>
internal sealed record ModelSource
{
    private const int ScanDepth = 3;

    /// <summary>The transform that reads the model, for messages (e.g. "GenerateText").</summary>
    public string Transform { get; init; } = "";

    /// <summary>Full path of the folder the pipeline was built from.</summary>
    public string Folder { get; init; } = "";

    /// <summary>That folder relative to the working directory when the pipeline was built ('/' separators), or null when on another drive.</summary>
    public string? RelativeFolder { get; init; }

    /// <summary>Every file the model reads, relative to the folder.</summary>
    public ModelFileEntry[] Files { get; init; } = [];

    /// <summary>Optional files the model would read that were absent.</summary>
    public string[] AbsentFiles { get; init; } = [];

    /// <summary>SHA-256 over the file list (paths, sizes, hashes, absent names): the model's identity and its cache folder name.</summary>
    public string ContentHash { get; init; } = "";

    /// <summary>Search roots from the pipeline's options.</summary>
    public string[] SearchPaths { get; init; } = [];

    /// <summary>True when the saved pipeline carries the files themselves (<c>EmbedModel</c>).</summary>
    public bool Embedded { get; init; }

    /// <summary>Fingerprints the files of <paramref name="folder"/> a model reads.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="transform">The transform name, for messages.</param>
    /// <param name="required">Files that must exist (relative, '/' separators); .onnx files bring their external data files.</param>
    /// <param name="optional">Files read when present.</param>
    /// <param name="searchPaths">Search roots from the options.</param>
    /// <param name="embed">Whether saved pipelines carry the files.</param>
    public static ModelSource Capture(string folder, string transform, IEnumerable<string> required, IEnumerable<string> optional,
        IEnumerable<string>? searchPaths, bool embed)
    {
        folder = System.IO.Path.GetFullPath(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{transform}: model folder '{folder}' was not found.");
        var files = new List<ModelFileEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string relative)
        {
            relative = Normalize(relative);
            if (!seen.Add(relative))
                return;
            string full = Full(folder, relative);
            var info = new FileInfo(full);
            if (!info.Exists)
                throw new FileNotFoundException($"{transform}: model file '{full}' was not found.", full);
            files.Add(new ModelFileEntry(relative, info.Length, FileFingerprint.Sha256Cached(full)));
            if (relative.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            {
                string directory = System.IO.Path.GetDirectoryName(relative.Replace('/', System.IO.Path.DirectorySeparatorChar)) ?? "";
                foreach (string location in OnnxExternalData.ListFiles(full))
                    Add(System.IO.Path.Combine(directory, location.Replace('/', System.IO.Path.DirectorySeparatorChar)));
            }
        }
        foreach (string file in required)
            Add(file);
        var absent = new List<string>();
        foreach (string file in optional)
        {
            string relative = Normalize(file);
            if (File.Exists(Full(folder, relative)))
                Add(relative);
            else if (!seen.Contains(relative))
                absent.Add(relative);
        }
        string relativeFolder = System.IO.Path.GetRelativePath(Environment.CurrentDirectory, folder);
        return new ModelSource
        {
            Transform = transform,
            Folder = folder,
            RelativeFolder = System.IO.Path.IsPathRooted(relativeFolder) ? null : relativeFolder.Replace('\\', '/'),
            Files = [.. files],
            AbsentFiles = [.. absent.Distinct(StringComparer.Ordinal)],
            ContentHash = HashOf(files, absent),
            SearchPaths = ModelSearch.Validate(searchPaths, "ModelSearchPaths"),
            Embedded = embed,
        };
    }

    /// <summary>Total size of the files in bytes.</summary>
    public long TotalBytes => Files.Sum(f => f.Length);

    /// <summary>The full path of <paramref name="relative"/> inside <paramref name="folder"/>.</summary>
    public static string Full(string folder, string relative) =>
        System.IO.Path.Combine(folder, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));

    /// <summary>
    /// A folder holding exactly these files (see <see cref="ModelSearch"/> for the order candidates are tried in).
    /// </summary>
    /// <exception cref="InvalidDataException">The recorded folder exists but a file changed, and no other candidate matched.</exception>
    /// <exception cref="FileNotFoundException">No candidate holds the files.</exception>
    public string Resolve()
    {
        var searched = new List<string>();
        string? changed = null;
        bool Try(string candidate)
        {
            candidate = System.IO.Path.GetFullPath(candidate);
            if (searched.Contains(candidate, StringComparer.Ordinal))
                return false;
            searched.Add(candidate);
            if (!Directory.Exists(candidate))
                return false;
            string? mismatch = Check(candidate);
            if (mismatch is null)
                return true;
            if (candidate == Folder)
                changed = mismatch;
            return false;
        }

        if (!IsConsistent())
            throw new InvalidDataException($"{Transform}: the model description in this pipeline's configuration does not match its content hash or names files outside the model folder; the saved pipeline is damaged.");
        if (Embedded && EmbeddedModelStore.TryVerifiedEntry(this) is { } extracted)
            return extracted;
        if (Try(Folder))
            return Folder;
        if (RelativeFolder is not null && Try(RelativeFolder))
            return System.IO.Path.GetFullPath(RelativeFolder);
        var roots = SearchPaths.Concat(ModelSearch.EnvironmentSearchPaths()).Select(System.IO.Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
        string name = System.IO.Path.GetFileName(Folder.TrimEnd(System.IO.Path.DirectorySeparatorChar));
        foreach (string root in roots)
        {
            if (RelativeFolder is not null && !RelativeFolder.StartsWith("..", StringComparison.Ordinal) && Try(System.IO.Path.Combine(root, RelativeFolder)))
                return System.IO.Path.GetFullPath(System.IO.Path.Combine(root, RelativeFolder));
            if (name.Length > 0 && Try(System.IO.Path.Combine(root, name)))
                return System.IO.Path.GetFullPath(System.IO.Path.Combine(root, name));
            if (Try(root))
                return root;
        }
        foreach (string root in roots)
            if (Scan(root, ScanDepth) is { } found)
                return found;

        string where = searched.Count == 0 ? "nowhere" : string.Join(", ", searched.Select(s => $"'{s}'"));
        if (changed is not null)
            throw new InvalidDataException(
                $"{changed} No other folder with the pipeline's files was found (searched {where}). Rebuild the pipeline from the current model folder, or restore the file.");
        throw new FileNotFoundException(
            $"{Transform}: the model folder '{Folder}' used by this pipeline was moved or deleted, and no folder holding the same files " +
            $"({string.Join(", ", Files.Select(f => f.Path))}) was found (searched {where}{(roots.Count == 0 ? "; no search roots are set" : $" and up to {ScanDepth} levels below the search roots")}). " +
            $"Put the folder back, list a folder that holds it in the {ModelSearch.SearchPathVariable} environment variable or the ModelSearchPaths option, or save the pipeline with EmbedModel = true.",
            Folder);

        string? Scan(string folder, int depth)
        {
            if (depth == 0 || !Directory.Exists(folder))
                return null;
            IEnumerable<string> children;
            try
            {
                children = Directory.EnumerateDirectories(folder).Where(d => !System.IO.Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
            foreach (string child in children)
            {
                // Cheap test first (the largest file's size), then full hashes.
                var largest = Files.MaxBy(f => f.Length);
                var info = largest is null ? null : new FileInfo(Full(child, largest.Path));
                if (info is { Exists: true } && info.Length == largest!.Length && Try(child))
                    return System.IO.Path.GetFullPath(child);
                if (Scan(child, depth - 1) is { } below)
                    return below;
            }
            return null;
        }
    }

    /// <summary>Null when <paramref name="folder"/> holds exactly these files; otherwise a sentence naming the first difference.</summary>
    public string? Check(string folder)
    {
        foreach (var file in Files)
        {
            string full = Full(folder, file.Path);
            var info = new FileInfo(full);
            if (!info.Exists)
                return $"{Transform}: model file '{file.Path}' ('{full}') is missing.";
            if (info.Length != file.Length)
                return $"{Transform}: model file '{file.Path}' ('{full}') changed since this pipeline was built ({info.Length} bytes, expected {file.Length}).";
            string actual = FileFingerprint.Sha256Cached(full);
            if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
                return $"{Transform}: model file '{file.Path}' ('{full}') changed since this pipeline was built (SHA-256 {actual}, expected {file.Sha256}).";
        }
        foreach (string absent in AbsentFiles)
        {
            string full = Full(folder, absent);
            if (File.Exists(full))
                return $"{Transform}: model file '{absent}' ('{full}') appeared since this pipeline was built; the model would read it.";
        }
        return null;
    }

    /// <summary>Throws <see cref="InvalidDataException"/> (a file changed or appeared) or <see cref="FileNotFoundException"/> (missing) unless <paramref name="folder"/> matches.</summary>
    public void Verify(string folder)
    {
        string? mismatch = Check(folder);
        if (mismatch is null)
            return;
        if (mismatch.EndsWith("is missing.", StringComparison.Ordinal))
            throw new FileNotFoundException(mismatch + " Was the model folder moved or deleted?");
        throw new InvalidDataException(mismatch + " Rebuild the pipeline from the current model folder.");
    }

    private static string Normalize(string relative)
    {
        string normalized = relative.Replace('\\', '/');
        while (normalized.StartsWith("./", StringComparison.Ordinal))
            normalized = normalized[2..];
        if (normalized.Length == 0 || System.IO.Path.IsPathRooted(relative) || normalized.Split('/').Any(p => p is ".." or ""))
            throw new ArgumentException($"'{relative}' must be a path inside the model folder.", nameof(relative));
        return normalized;
    }

    private static string HashOf(IEnumerable<ModelFileEntry> files, IEnumerable<string> absent)
    {
        var text = new StringBuilder();
        foreach (var f in files.OrderBy(f => f.Path, StringComparer.Ordinal))
            text.Append("file\t").Append(f.Path).Append('\t').Append(f.Length).Append('\t').Append(f.Sha256.ToLowerInvariant()).Append('\n');
        foreach (string a in absent.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            text.Append("absent\t").Append(a).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>
    /// True when <see cref="ContentHash"/> matches the lists and every path stays inside the folder: a configuration read
    /// from a saved pipeline is checked before its paths are used to write files.
    /// </summary>
    public bool IsConsistent()
    {
        foreach (string path in Files.Select(f => f.Path).Concat(AbsentFiles))
        {
            try
            {
                if (Normalize(path) != path)
                    return false;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
        return ContentHash == HashOf(Files, AbsentFiles);
    }
}
