using System.Globalization;
using System.Net;
using System.Text;
using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Cli.Jobs;

/// <summary>One line of the quickstart's results: what ran, what it measured, how long it took.</summary>
/// <param name="Step">Short name of the step.</param>
/// <param name="Result">Its figures.</param>
/// <param name="Time">Wall time.</param>
public sealed record QuickstartRow(string Step, string Result, TimeSpan Time);

/// <summary>A picture of the report: a PNG file (embedded in the page) and its caption.</summary>
/// <param name="Path">PNG file.</param>
/// <param name="Caption">What it shows.</param>
public sealed record QuickstartPicture(string Path, string Caption);

/// <summary>A generated text of the report.</summary>
/// <param name="Title">What produced it (prompt, settings).</param>
/// <param name="Text">The text, prompt included.</param>
public sealed record QuickstartText(string Title, string Text);

/// <summary>
/// Writes the quickstart's report page: one self-contained HTML file (pictures embedded as data URIs, no script, no
/// external resource) with the metrics table, every picture and the generated texts, so a user opens one file.
/// </summary>
public static class QuickstartReport
{
    /// <summary>Writes <paramref name="path"/> atomically and returns its full path.</summary>
    /// <param name="path">The .html file.</param>
    /// <param name="title">Page title.</param>
    /// <param name="subtitle">One line under the title (machine, total time).</param>
    /// <param name="rows">Metrics and timings.</param>
    /// <param name="pictures">Pictures, in order.</param>
    /// <param name="texts">Generated texts, in order.</param>
    public static string Write(string path, string title, string subtitle, IReadOnlyList<QuickstartRow> rows,
        IReadOnlyList<QuickstartPicture> pictures, IReadOnlyList<QuickstartText> texts)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append("<title>").Append(Encode(title)).Append("</title>\n<style>\n");
        html.Append("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1b1b1b;background:#fff}\n");
        html.Append("h1{margin-bottom:.2em}p.sub{color:#555;margin-top:0}table{border-collapse:collapse;margin:1em 0;width:100%}\n");
        html.Append("th,td{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3}td.t{text-align:right;white-space:nowrap}\n");
        html.Append(".pics{display:flex;flex-wrap:wrap;gap:1.2em}figure{margin:0;max-width:100%}figure img{max-width:100%;border:1px solid #ddd;image-rendering:pixelated}\n");
        html.Append("figcaption{color:#444;font-size:.9em;margin-top:.3em;max-width:640px}pre{background:#f7f7f7;border:1px solid #e0e0e0;padding:.8em;white-space:pre-wrap;font-size:.95em}\n");
        html.Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(Encode(title)).Append("</h1>\n<p class=\"sub\">").Append(Encode(subtitle)).Append("</p>\n");

        html.Append("<h2>Results</h2>\n<table>\n<tr><th>step</th><th>result</th><th>time</th></tr>\n");
        foreach (var r in rows)
            html.Append("<tr><td>").Append(Encode(r.Step)).Append("</td><td>").Append(Encode(r.Result)).Append("</td><td class=\"t\">")
                .Append(r.Time.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)).Append(" s</td></tr>\n");
        html.Append("</table>\n");

        html.Append("<h2>Pictures</h2>\n<div class=\"pics\">\n");
        foreach (var p in pictures)
        {
            if (!File.Exists(p.Path)) throw new FileNotFoundException($"The report's picture '{p.Path}' does not exist.", p.Path);
            html.Append("<figure><img src=\"data:image/png;base64,").Append(Convert.ToBase64String(File.ReadAllBytes(p.Path)))
                .Append("\" alt=\"").Append(Encode(p.Caption)).Append("\"><figcaption>").Append(Encode(p.Caption)).Append("</figcaption></figure>\n");
        }
        html.Append("</div>\n");

        html.Append("<h2>Generated text</h2>\n");
        foreach (var t in texts)
            html.Append("<h3>").Append(Encode(t.Title)).Append("</h3>\n<pre>").Append(Encode(t.Text)).Append("</pre>\n");
        html.Append("</body>\n</html>\n");

        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        AtomicFile.WriteAllText(full, html.ToString());
        return full;
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
