using SkiaSharp;

namespace Aigc.MLNet.Cli.Tests;

internal static class Pictures
{
    /// <summary>Decodes a PNG (fails if it is not a real image) and returns its size.</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        using var bitmap = SKBitmap.Decode(path);
        Assert.IsNotNull(bitmap, $"'{path}' does not decode as an image.");
        return (bitmap.Width, bitmap.Height);
    }
}
