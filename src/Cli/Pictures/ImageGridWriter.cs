using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Aigc.MLNet.Transforms.Images;

namespace Aigc.MLNet.Cli.Pictures;

/// <summary>
/// Writes grayscale images (pixels in [0, 1]) as one PNG grid while they arrive, one grid row at a time: memory holds
/// one band of pixels, never the whole picture, so the count is limited by time, not memory. The layout is
/// <see cref="Transforms.Images.ImageGrid"/>'s (black padding, each pixel a scale×scale block).
/// </summary>
internal static class ImageGridWriter
{
    /// <summary>Draws <paramref name="count"/> images from <paramref name="images"/> into a grid of <paramref name="columns"/> columns.</summary>
    public static void Write(Stream output, IEnumerable<float[]> images, int count, int columns, int width = 28, int height = 28, int scale = 2, int padding = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        columns = Math.Min(columns, count);
        int rows = (count + columns - 1) / columns;
        int cellW = width + padding, cellH = height + padding;
        long gridW = ((long)columns * cellW + padding) * scale, gridH = ((long)rows * cellH + padding) * scale;
        if (gridW > int.MaxValue || gridH > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"{count} images make a picture of {gridW}x{gridH} pixels, more than a PNG holds.");
        using var png = new GrayPngWriter(output, (int)gridW, (int)gridH);
        var band = new byte[cellH * scale * gridW];
        for (int line = 0; line < padding * scale; line++) png.WriteRow(band.AsSpan(0, (int)gridW));
        using var next = images.GetEnumerator();
        for (int r = 0; r < rows; r++)
        {
            Array.Clear(band);
            for (int c = 0; c < columns && r * columns + c < count; c++)
            {
                if (!next.MoveNext()) throw new InvalidOperationException($"The model produced {r * columns + c} images; {count} were asked for.");
                float[] image = next.Current;
                if (image.Length != width * height)
                    throw new InvalidDataException($"Image {r * columns + c} has {image.Length} pixels; expected {width}x{height} = {width * height}.");
                int x0 = (padding + c * cellW) * scale;
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                    {
                        float v = image[y * width + x];
                        byte b = (byte)Math.Round(255 * (float.IsNaN(v) ? 0 : Math.Clamp(v, 0f, 1f)));
                        for (int dy = 0; dy < scale; dy++)
                            band.AsSpan((int)((y * scale + dy) * gridW + x0 + x * scale), scale).Fill(b);
                    }
            }
            for (int line = 0; line < cellH * scale; line++) png.WriteRow(band.AsSpan((int)(line * gridW), (int)gridW));
        }
    }
}

/// <summary>
/// An 8-bit grayscale PNG written scanline by scanline: signature and IHDR first, the zlib stream in IDAT chunks of
/// 64 KiB as it fills, IEND on dispose.
/// </summary>
internal sealed class GrayPngWriter : IDisposable
{
    private readonly Stream _output;
    private readonly IdatStream _idat;
    private readonly ZLibStream _zlib;
    private readonly int _width, _height;
    private int _rows;

    public GrayPngWriter(Stream output, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        (_output, _width, _height) = (output, width, height);
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;   // bit depth; colour type 0 (grayscale), deflate, adaptive filtering, no interlace
        PngEncoder.WriteChunk(output, "IHDR", header);
        _idat = new IdatStream(output);
        _zlib = new ZLibStream(_idat, CompressionLevel.Optimal, leaveOpen: true);
    }

    /// <summary>Appends one scanline of <c>width</c> bytes.</summary>
    public void WriteRow(ReadOnlySpan<byte> row)
    {
        if (row.Length != _width) throw new ArgumentException($"A row has {row.Length} bytes; the picture is {_width} wide.", nameof(row));
        if (_rows == _height) throw new InvalidOperationException($"The picture already has its {_height} rows.");
        _zlib.WriteByte(0);   // filter: none
        _zlib.Write(row);
        _rows++;
    }

    /// <summary>Finishes the zlib stream and writes IEND; the picture must be complete.</summary>
    public void Dispose()
    {
        _zlib.Dispose();
        if (_rows != _height) return;   // an abandoned picture (an exception is on its way) gets no IEND
        _idat.Flush();
        PngEncoder.WriteChunk(_output, "IEND", []);
    }

    /// <summary>Collects compressed bytes and emits them as IDAT chunks.</summary>
    private sealed class IdatStream(Stream output) : Stream
    {
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _count;

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> data)
        {
            while (!data.IsEmpty)
            {
                int n = Math.Min(data.Length, _buffer.Length - _count);
                data[..n].CopyTo(_buffer.AsSpan(_count));
                _count += n;
                data = data[n..];
                if (_count == _buffer.Length) Flush();
            }
        }

        public override void Flush()
        {
            if (_count == 0) return;
            PngEncoder.WriteChunk(output, "IDAT", _buffer.AsSpan(0, _count));
            _count = 0;
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
