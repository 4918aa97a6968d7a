using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Aigc.MLNet.Cli.Tests;

/// <summary>Renders a local HTML file in Debian's Chromium, headless (installed by eng/setup.sh), as a user's browser would.</summary>
internal static partial class HeadlessChromium
{
    private static string Executable
    {
        get
        {
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
                foreach (string name in new[] { "chromium", "chromium-browser" })
                    if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
            Assert.Fail("Chromium is not installed: run `bash eng/setup.sh` (Debian package chromium).");
            return "";
        }
    }

    /// <summary>
    /// Loads a copy of <paramref name="htmlFile"/> with a small script appended that, once the page has loaded, writes
    /// how many &lt;img&gt; elements it has and how many decoded (complete, natural width above 0) into the title; the DOM
    /// dumped by Chromium carries it back.
    /// </summary>
    public static (int Images, int Loaded) CountLoadedImages(string htmlFile)
    {
        string probe = Path.Combine(Path.GetDirectoryName(htmlFile)!, "chromium-probe-" + Guid.NewGuid().ToString("N")[..8] + ".html");
        string html = File.ReadAllText(htmlFile);
        const string Script = "<script>window.addEventListener('load', function () { var all = Array.prototype.slice.call(document.images); " +
            "document.title = 'IMAGES ' + all.length + ' ' + all.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length; });</script>";
        File.WriteAllText(probe, html.Replace("</body>", Script + "</body>", StringComparison.Ordinal));
        try
        {
            string dom = Run(["--dump-dom", new Uri(probe).AbsoluteUri]);
            var m = ImageCount().Match(dom);
            Assert.IsTrue(m.Success, $"Chromium did not finish loading the page:\n{dom[..Math.Min(dom.Length, 2000)]}");
            return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
        }
        finally
        {
            File.Delete(probe);
        }
    }

    /// <summary>Screenshots <paramref name="htmlFile"/> at <paramref name="width"/>×<paramref name="height"/> into <paramref name="png"/>.</summary>
    public static void Screenshot(string htmlFile, string png, int width, int height)
    {
        Run([$"--screenshot={png}", $"--window-size={width},{height}", "--hide-scrollbars", new Uri(htmlFile).AbsoluteUri]);
        Assert.IsTrue(File.Exists(png), $"Chromium wrote no screenshot to {png}.");
    }

    private static string Run(string[] arguments)
    {
        string profile = Path.Combine(Path.GetTempPath(), "aigc-chromium-" + Guid.NewGuid().ToString("N")[..8]);
        var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // As root in a closed network: no sandbox, no GPU, no background connections, a fresh profile.
        foreach (string a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--allow-file-access-from-files", "--virtual-time-budget=10000", $"--user-data-dir={profile}" })
            start.ArgumentList.Add(a);
        foreach (string a in arguments) start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("Chromium did not finish within 2 minutes.");
            }
            process.WaitForExit();
            Assert.AreEqual(0, process.ExitCode, $"chromium {string.Join(' ', arguments)}:\n{error.Result}");
            return output.Result;
        }
        finally
        {
            try { Directory.Delete(profile, true); } catch (IOException) { }
        }
    }

    [GeneratedRegex("<title>IMAGES (\\d+) (\\d+)</title>")]
    private static partial Regex ImageCount();
}
