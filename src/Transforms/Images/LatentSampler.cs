namespace Aigc.MLNet.Transforms.Images;

/// <summary>
/// Turns an integer seed into a standard-normal latent vector, the same on every platform and .NET version
/// (SplitMix64 + Box–Muller), so a seed column names an image reproducibly.
/// </summary>
public static class LatentSampler
{
    /// <summary>Fills <paramref name="destination"/> with N(0, 1) values derived from <paramref name="seed"/>.</summary>
    public static void Sample(int seed, Span<float> destination)
        => Fill(0x9E3779B97F4A7C15UL * (ulong)(uint)seed + 0x632BE59BD9B4E019UL, destination);

    /// <summary>Fills <paramref name="destination"/> with standard-normal values (Box–Muller over SplitMix64) from the generator state <paramref name="state"/>.</summary>
    internal static void Fill(ulong state, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i += 2)
        {
            double u1 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double u2 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double r = Math.Sqrt(-2.0 * Math.Log(1.0 - u1));
            destination[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < destination.Length) destination[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
        }
    }

    /// <summary>A new latent vector of <paramref name="size"/> values for <paramref name="seed"/>.</summary>
    public static float[] Sample(int seed, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var z = new float[size];
        Sample(seed, z);
        return z;
    }

    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
