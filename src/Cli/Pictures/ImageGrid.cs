using SkiaSharp;

namespace Aigc.MLNet.Cli.Pictures;

/// <summary>Writes grayscale images (pixels in [0, 1], row-major) as one PNG grid, scaled up so digits are readable.</summary>
public static class ImageGrid
{
    /// <summary>Encodes <paramref name="count"/> images of <paramref name="width"/>×<paramref name="height"/> as a PNG grid.</summary>
    /// <param name="pixels">count × height × width values in [0, 1] (clamped).</param>
    /// <param name="count">Number of images.</param>
    /// <param name="columns">Images per row; 0 picks a near-square grid.</param>
    /// <param name="width">Image width.</param>
    /// <param name="height">Image height.</param>
    /// <param name="scale">Pixel magnification.</param>
    public static byte[] ToPng(ReadOnlySpan<float> pixels, int count, int columns = 0, int width = 28, int height = 28, int scale = 2)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one image is needed.");
        if (pixels.Length < (long)count * width * height)
            throw new ArgumentException($"pixels holds {pixels.Length} values; {count} images of {width}x{height} need {count * width * height}.", nameof(pixels));
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be at least 1.");
        if (columns <= 0) columns = (int)Math.Ceiling(Math.Sqrt(count));
        int rows = (count + columns - 1) / columns;
        const int gap = 2;
        int cellW = width * scale + gap, cellH = height * scale + gap;
        var info = new SKImageInfo(columns * cellW + gap, rows * cellH + gap, SKColorType.Gray8, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        Span<byte> dst = bitmap.GetPixelSpan();
        dst.Fill(64);
        int stride = bitmap.RowBytes;
        for (int n = 0; n < count; n++)
        {
            int ox = gap + (n % columns) * cellW, oy = gap + (n / columns) * cellH;
            var image = pixels.Slice(n * width * height, width * height);
            for (int y = 0; y < height * scale; y++)
            {
                var row = dst.Slice((oy + y) * stride + ox, width * scale);
                var src = image.Slice((y / scale) * width, width);
                for (int x = 0; x < row.Length; x++)
                {
                    float v = src[x / scale];
                    row[x] = (byte)Math.Round(255 * Math.Clamp(float.IsFinite(v) ? v : 0f, 0f, 1f));
                }
            }
        }
        using var image2 = SKImage.FromBitmap(bitmap);
        using var data = image2.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Writes the grid to <paramref name="path"/> atomically and returns the full path.</summary>
    public static string SavePng(string path, ReadOnlySpan<float> pixels, int count, int columns = 0, int width = 28, int height = 28, int scale = 2)
    {
        byte[] png = ToPng(pixels, count, columns, width, height, scale);
        return FileWrite.Atomic(path, png);
    }

    /// <summary>Decodes a PNG and returns its size (checks the file is a real image).</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        using var bitmap = SKBitmap.Decode(path) ?? throw new InvalidDataException($"'{path}' is not a decodable image.");
        return (bitmap.Width, bitmap.Height);
    }
}

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
