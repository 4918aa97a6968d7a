using Aigc.MLNet.Transforms.Serving;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>Walks the VAE's latent space between two images: encode both, interpolate the means linearly, decode.</summary>
public static class LatentInterpolation
{
    /// <summary>Decoded images along the straight line between the posterior means of two images (both ends included).</summary>
    /// <param name="modelFolder">Folder written by a VAE trainer.</param>
    /// <param name="from">First image, 784 pixels in [0, 1].</param>
    /// <param name="to">Last image, 784 pixels in [0, 1].</param>
    /// <param name="steps">Images in the strip (≥ 2).</param>
    public static float[][] Interpolate(string modelFolder, float[] from, float[] to, int steps = 10)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 2);
        var manifest = ImageModelManifest.Load(modelFolder);
        if (manifest.EncoderFile is null || manifest.DecoderFile is null)
            throw new ArgumentException($"The model in '{modelFolder}' ({manifest.Kind}) is not a VAE: it needs an encoder and a decoder.", nameof(modelFolder));
        var config = ImageServingConfig.From(modelFolder, manifest, "LatentInterpolation", "from/to", encoder: true, decoder: true);
        using var lease = ImageModelRuntime.Acquire(ConfiguredMapping.EncodeConfig(config));
        var runtime = lease.Value;
        ImageMappingChecks.Pixels(from, config);
        ImageMappingChecks.Pixels(to, config);
        int latent = manifest.LatentSize;
        var means = new float[2 * latent];
        var ignored = new float[2 * latent];
        runtime.Encode([.. from, .. to], 2, means, ignored);
        var z = new float[steps * latent];
        for (int s = 0; s < steps; s++)
        {
            float t = s / (float)(steps - 1);
            for (int j = 0; j < latent; j++) z[s * latent + j] = (1 - t) * means[j] + t * means[latent + j];
        }
        var images = new float[steps * manifest.PixelCount];
        runtime.Decode(z, steps, images);
        return Enumerable.Range(0, steps).Select(s => images.AsSpan(s * manifest.PixelCount, manifest.PixelCount).ToArray()).ToArray();
    }

    /// <summary>Writes the interpolation as a one-row PNG strip.</summary>
    /// <param name="path">Destination .png file (written atomically).</param>
    /// <param name="modelFolder">Folder written by a VAE trainer.</param>
    /// <param name="from">First image.</param>
    /// <param name="to">Last image.</param>
    /// <param name="steps">Images in the strip.</param>
    /// <param name="scale">Pixel magnification.</param>
    public static void SaveStrip(string path, string modelFolder, float[] from, float[] to, int steps = 10, int scale = 2) =>
        ImageGrid.SavePng(path, Interpolate(modelFolder, from, to, steps), columns: steps, scale: scale);
}
