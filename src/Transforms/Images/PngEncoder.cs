using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>
/// Encodes 8-bit grayscale or RGB pixels as PNG in managed code, so the library writes pictures without a native
/// image library (the application keeps that choice). The file is the minimal valid PNG: signature, IHDR, one IDAT
/// holding the zlib-compressed scanlines (filter type 0 each), IEND.
/// </summary>
public static class PngEncoder
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes a grayscale image given row by row, one byte per pixel.</summary>
    /// <param name="pixels">width × height bytes, rows top to bottom.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static byte[] EncodeGray8(ReadOnlySpan<byte> pixels, int width, int height) => Encode(pixels, width, height, channels: 1);

    /// <summary>Encodes an RGB image given row by row, three bytes (red, green, blue) per pixel.</summary>
    /// <param name="pixels">width × height × 3 bytes, rows top to bottom.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static byte[] EncodeRgb24(ReadOnlySpan<byte> pixels, int width, int height) => Encode(pixels, width, height, channels: 3);

    /// <summary>The PNG as an HTML &lt;img&gt; with a data URI, for notebooks (<c>display(HTML(PngEncoder.ToHtml(png)))</c>) and reports.</summary>
    /// <param name="png">PNG bytes.</param>
    /// <param name="title">Alternative text and tooltip.</param>
    public static string ToHtml(byte[] png, string title = "")
    {
        ArgumentNullException.ThrowIfNull(png);
        string t = System.Net.WebUtility.HtmlEncode(title ?? "");
        return $"<img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" alt=\"{t}\" title=\"{t}\"/>";
    }

    private static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        long expected = (long)width * height * channels;
        if (pixels.Length != expected)
            throw new ArgumentException($"{pixels.Length} pixel bytes given; expected {width}x{height}x{channels} = {expected}.", nameof(pixels));

        using var output = new MemoryStream();
        output.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;                              // bit depth
        header[9] = channels == 1 ? (byte)0 : (byte)2;  // colour type: grayscale or truecolour
        header[10] = 0;                             // deflate
        header[11] = 0;                             // adaptive filtering
        header[12] = 0;                             // no interlace
        WriteChunk(output, "IHDR", header);

        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                int stride = width * channels;
                for (int y = 0; y < height; y++)
                {
                    zlib.WriteByte(0);              // filter: none
                    zlib.Write(pixels.Slice(y * stride, stride));
                }
            }
            WriteChunk(output, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        }
        WriteChunk(output, "IEND", ReadOnlySpan<byte>.Empty);
        return output.ToArray();
    }

    /// <summary>Writes one PNG chunk: length, type, data, CRC-32 of type and data (the CLI's streamed grids use it too).</summary>
    internal static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        output.Write(four);
        Span<byte> typeBytes = stackalloc byte[4];
        Encoding.ASCII.GetBytes(type, typeBytes);
        output.Write(typeBytes);
        output.Write(data);
        uint crc = Crc32.Update(Crc32.Update(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(four, crc);
        output.Write(four);
    }

    /// <summary>CRC-32 (polynomial 0xEDB88320) as PNG chunks use it.</summary>
    internal static class Crc32
    {
        private static readonly uint[] Table = Build();

        private static uint[] Build()
        {
            var table = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                table[n] = c;
            }
            return table;
        }

        public static uint Update(uint crc, ReadOnlySpan<byte> data)
        {
            foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }
    }
}
