using Aigc.MLNet.Testing;
using Aigc.MLNet.Transforms.Images;
using SkiaSharp;

namespace Aigc.MLNet.Transforms.Tests.Images;

[TestClass]
public sealed class ImageGridTests
{
    [TestMethod]
    public void GridPngHasTheLayoutAndPixelValues()
    {
        var images = Enumerable.Range(0, 5).Select(i => Enumerable.Repeat(i / 4f, 784).ToArray()).ToArray();
        images[0][0] = 1f;   // top-left pixel of the first image
        byte[] png = ImageGrid.ToPng(images, columns: 3, scale: 2, padding: 2);
        using var bitmap = SKBitmap.Decode(png);
        // 3 columns × (28 + 2) + 2 = 92 px wide, 2 rows × 30 + 2 = 62 px high, times scale 2.
        Assert.AreEqual(184, bitmap.Width);
        Assert.AreEqual(124, bitmap.Height);
        Assert.AreEqual(255, bitmap.GetPixel(4, 4).Red);          // image 0, pixel (0, 0), scaled block
        Assert.AreEqual(255, bitmap.GetPixel(5, 5).Red);
        Assert.AreEqual(0, bitmap.GetPixel(6, 6).Red);            // image 0 elsewhere: 0
        Assert.AreEqual(0, bitmap.GetPixel(0, 0).Red);            // padding
        Assert.AreEqual(128, bitmap.GetPixel((2 + 30 * 2) * 2 + 10, 14).Red);        // image 2 = 0.5
        Assert.AreEqual(191, bitmap.GetPixel(2 * 2 + 10, (2 + 30) * 2 + 10).Red);              // image 3 = 0.75
        Assert.AreEqual(255, bitmap.GetPixel((2 + 30 * 1) * 2 + 10, (2 + 30) * 2 + 10).Red);   // image 4 = 1
        Assert.AreEqual(0, bitmap.GetPixel((2 + 30 * 2) * 2 + 10, (2 + 30) * 2 + 10).Red);     // empty cell

        Assert.ThrowsExactly<ArgumentException>(() => ImageGrid.ToPng([new float[10]]));
        string path = Path.Combine(TinyImageModels.TempFolder("png"), "grid.png");
        ImageGrid.SavePng(path, images);
        CollectionAssert.AreEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, File.ReadAllBytes(path)[..4]);
    }

    [TestMethod]
    public void ManagedPngEncoder_DecodesToTheSamePixels()
    {
        // Gray: a 5x3 gradient; RGB: a 4x2 image whose channels differ per pixel. Skia decodes both independently.
        byte[] gray = Enumerable.Range(0, 15).Select(i => (byte)(i * 17)).ToArray();
        using (var g = SKBitmap.Decode(PngEncoder.EncodeGray8(gray, 5, 3)))
        {
            Assert.AreEqual(5, g.Width);
            Assert.AreEqual(3, g.Height);
            for (int i = 0; i < 15; i++) Assert.AreEqual(gray[i], g.GetPixel(i % 5, i / 5).Red, $"pixel {i}");
        }
        byte[] rgb = Enumerable.Range(0, 24).Select(i => (byte)(i * 10 + 3)).ToArray();
        using (var c = SKBitmap.Decode(PngEncoder.EncodeRgb24(rgb, 4, 2)))
        {
            Assert.AreEqual(4, c.Width);
            for (int p = 0; p < 8; p++)
            {
                var px = c.GetPixel(p % 4, p / 4);
                Assert.AreEqual((rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]), (px.Red, px.Green, px.Blue), $"pixel {p}");
            }
        }
        // CRC-32 check value of "123456789" (the standard test vector).
        Assert.AreEqual(0xCBF43926u, PngEncoder.Crc32.Update(0xFFFFFFFFu, "123456789"u8) ^ 0xFFFFFFFFu);
        var e = Assert.ThrowsExactly<ArgumentException>(() => PngEncoder.EncodeRgb24(new byte[5], 2, 2));
        StringAssert.Contains(e.Message, "expected 2x2x3 = 12");
        StringAssert.StartsWith(PngEncoder.ToHtml([1, 2, 3], "a<b"), "<img src=\"data:image/png;base64,AQID\" alt=\"a&lt;b\"");
    }

    [TestMethod]
    public void InterpolationStripRunsFromOneReconstructionToTheOther()
    {
        var models = new TinyImageModels();
        string folder = models.WriteVae(TinyImageModels.TempFolder("vae"));
        float[] a = SavedPipelineProbe.Pixels(0), b = SavedPipelineProbe.Pixels(5);
        var strip = LatentInterpolation.Interpolate(folder, a, b, steps: 5);
        Assert.AreEqual(5, strip.Length);
        var first = models.Decode(models.Encode(a).Mean);
        var last = models.Decode(models.Encode(b).Mean);
        for (int j = 0; j < 784; j += 37)
        {
            Assert.AreEqual(first[j], strip[0][j], 1e-4f);
            Assert.AreEqual(last[j], strip[4][j], 1e-4f);
        }
        var (ma, mb) = (models.Encode(a).Mean, models.Encode(b).Mean);
        var middle = models.Decode(ma.Zip(mb, (x, y) => (x + y) / 2).ToArray());
        Assert.AreEqual(middle[100], strip[2][100], 1e-4f);

        string path = Path.Combine(TinyImageModels.TempFolder("png"), "strip.png");
        LatentInterpolation.SaveStrip(path, folder, a, b, steps: 5, scale: 1);
        using var bitmap = SKBitmap.Decode(path);
        Assert.AreEqual(5 * 30 + 2, bitmap.Width);
        Assert.AreEqual(32, bitmap.Height);
    }
}
