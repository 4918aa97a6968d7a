using System.Buffers.Binary;
using System.IO.Compression;

namespace Aigc.MLNet.Transforms.Data;

/// <summary>
/// Reads an IDX file (the MNIST format): a 4-byte big-endian magic <c>00 00 08 NN</c> where 08 means unsigned bytes and
/// NN the number of dimensions, then NN big-endian int32 dimension sizes, then the data. Raw or gzip (.gz).
/// </summary>
internal sealed class IdxFile
{
    private const int UnsignedByteType = 0x08;

    public string Path { get; }
    public int[] Dimensions { get; }
    public int HeaderLength => 4 + 4 * Dimensions.Length;
    public bool IsGzip { get; }

    private IdxFile(string path, int[] dims, bool gzip)
    {
        Path = path;
        Dimensions = dims;
        IsGzip = gzip;
    }

    /// <summary>Opens and validates the header, and for raw files the exact length.</summary>
    public static IdxFile Open(string path, int expectedRank)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"IDX file '{path}' was not found. Fetch MNIST with `{DatasetPaths.FetchCommand}`.", path);
        using Stream stream = OpenStream(path, out bool gzip);
        Span<byte> head = stackalloc byte[4];
        ReadExactly(stream, head, path, "the 4-byte magic number");
        if (head[0] != 0 || head[1] != 0 || head[2] != UnsignedByteType || head[3] != expectedRank)
            throw new InvalidDataException(
                $"IDX file '{path}' has magic {Convert.ToHexString(head)}; expected 000008{expectedRank:X2} (unsigned bytes, {expectedRank} dimensions).");
        var dims = new int[expectedRank];
        Span<byte> word = stackalloc byte[4];
        for (int i = 0; i < expectedRank; i++)
        {
            ReadExactly(stream, word, path, $"dimension {i}");
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[i] < 0)
                throw new InvalidDataException($"IDX file '{path}' declares a negative size {dims[i]} for dimension {i}.");
        }
        var file = new IdxFile(path, dims, gzip);
        if (!gzip)
        {
            long expected = file.HeaderLength + file.ElementCount;
            long actual = new FileInfo(path).Length;
            if (actual != expected)
                throw new InvalidDataException(
                    $"IDX file '{path}' is {actual:N0} bytes; its header ({string.Join(" x ", dims)}) requires {expected:N0}. The file is truncated or corrupt: fetch it again with `{DatasetPaths.FetchCommand}`.");
        }
        return file;
    }

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (int d in Dimensions)
                n *= d;
            return n;
        }
    }

    /// <summary>A stream positioned at the first data byte.</summary>
    public Stream OpenData()
    {
        Stream stream = OpenStream(Path, out _);
        Span<byte> skip = stackalloc byte[HeaderLength];
        ReadExactly(stream, skip, Path, "the header");
        return stream;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes or throws naming the file.</summary>
    public static void ReadExactly(Stream stream, Span<byte> buffer, string path, string what)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0)
                throw new InvalidDataException($"IDX file '{path}' ended while reading {what}: the file is truncated. Fetch it again with `{DatasetPaths.FetchCommand}`.");
            total += n;
        }
    }

    private static Stream OpenStream(string path, out bool gzip)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        gzip = b0 == 0x1f && b1 == 0x8b;
        return gzip ? new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16) : file;
    }
}
