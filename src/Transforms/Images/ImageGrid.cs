using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>Writes grayscale images (pixels in [0, 1], row by row) as one PNG grid, e.g. a page of generated digits.</summary>
public static class ImageGrid
{
    /// <summary>Encodes the grid as PNG bytes.</summary>
    /// <param name="images">Images of <paramref name="width"/>×<paramref name="height"/> pixels in [0, 1] (values outside are clamped).</param>
    /// <param name="columns">Images per row of the grid.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="scale">Each pixel becomes a <paramref name="scale"/>×<paramref name="scale"/> block.</param>
    /// <param name="padding">Pixels (before scaling) of black border between images.</param>
    public static byte[] ToPng(IReadOnlyList<float[]> images, int columns = 8, int width = 28, int height = 28, int scale = 2, int padding = 2)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("No images to draw.", nameof(images));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scale);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        for (int i = 0; i < images.Count; i++)
            if (images[i] is null || images[i].Length != width * height)
                throw new ArgumentException($"Image {i} has {images[i]?.Length ?? 0} pixels; expected {width}x{height} = {width * height}.", nameof(images));

        columns = Math.Min(columns, images.Count);
        int rows = (images.Count + columns - 1) / columns;
        int cellW = width + padding, cellH = height + padding;
        int gridW = (columns * cellW + padding) * scale, gridH = (rows * cellH + padding) * scale;
        var pixels = new byte[gridW * gridH];
        for (int n = 0; n < images.Count; n++)
        {
            int x0 = (padding + n % columns * cellW) * scale, y0 = (padding + n / columns * cellH) * scale;
            float[] image = images[n];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    float v = image[y * width + x];
                    byte b = (byte)Math.Round(255 * (float.IsNaN(v) ? 0 : Math.Clamp(v, 0f, 1f)));
                    for (int dy = 0; dy < scale; dy++)
                        pixels.AsSpan((y0 + y * scale + dy) * gridW + x0 + x * scale, scale).Fill(b);
                }
        }
        return PngEncoder.EncodeGray8(pixels, gridW, gridH);
    }

    /// <summary>Writes the grid as a PNG file, atomically.</summary>
    /// <param name="path">Destination .png file.</param>
    /// <param name="images">Images in [0, 1].</param>
    /// <param name="columns">Images per row.</param>
    /// <param name="width">Image width.</param>
    /// <param name="height">Image height.</param>
    /// <param name="scale">Pixel magnification.</param>
    /// <param name="padding">Border between images.</param>
    public static void SavePng(string path, IReadOnlyList<float[]> images, int columns = 8, int width = 28, int height = 28, int scale = 2, int padding = 2)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] png = ToPng(images, columns, width, height, scale, padding);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
