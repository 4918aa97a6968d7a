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

/// <summary>PNG bytes as an HTML &lt;img&gt; for notebooks: <c>display(HTML(Png.ToHtml(bytes)))</c>.</summary>
public static class Png
{
    /// <summary>An inline data-URI image tag.</summary>
    /// <param name="png">PNG bytes.</param>
    /// <param name="title">Alternative text / tooltip.</param>
    public static string ToHtml(byte[] png, string title = "") =>
        $"<img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" alt=\"{System.Net.WebUtility.HtmlEncode(title)}\" title=\"{System.Net.WebUtility.HtmlEncode(title)}\"/>";
}
