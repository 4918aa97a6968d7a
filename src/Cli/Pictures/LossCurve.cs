using ScottPlot;

namespace Aigc.MLNet.Cli.Pictures;

/// <summary>Loss-curve PNGs with ScottPlot: one line per named series over training steps.</summary>
public static class LossCurve
{
    /// <summary>Renders the series as a PNG.</summary>
    /// <param name="title">Plot title.</param>
    /// <param name="series">Series name → (step, value) points.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static byte[] ToPng(string title, IReadOnlyDictionary<string, List<(double Step, double Value)>> series, int width = 640, int height = 400)
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        foreach (var (name, points) in series)
        {
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Value).ToArray());
            line.LegendText = name;
            line.MarkerSize = points.Count > 40 ? 0 : 4;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss");
        // Losses fall, so the upper right is usually empty.
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>Writes the PNG atomically and returns the full path.</summary>
    public static string SavePng(string path, string title, IReadOnlyDictionary<string, List<(double Step, double Value)>> series, int width = 640, int height = 400) =>
        FileWrite.Atomic(path, ToPng(title, series, width, height));
}
