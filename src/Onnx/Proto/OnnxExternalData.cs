namespace Aigc.MLNet.Onnx.Proto;

/// <summary>
/// Finds the external data files an ONNX model refers to (<c>TensorProto.external_data</c> entries with key
/// <c>location</c>), so that whoever fingerprints or copies a model knows every file ONNX Runtime will open.
/// </summary>
/// <remarks>
/// The file is scanned as protobuf without materialising tensors: length-delimited fields that cannot hold tensors are
/// skipped by seeking, so a 2 GB model costs a few reads. Visited: the model's graph and functions, every graph's
/// initializers, sparse initializers and nodes, and node attributes holding tensors or subgraphs (<c>If</c>/<c>Loop</c>).
/// </remarks>
public static class OnnxExternalData
{
    private const int MaxDepth = 64;

    /// <summary>The distinct external data locations of <paramref name="modelPath"/>, relative to the model's folder, in first-seen order.</summary>
    /// <param name="modelPath">An .onnx file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a well-formed ONNX protobuf, or a location is absolute or leaves the model's folder.</exception>
    public static IReadOnlyList<string> ListFiles(string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"ONNX model '{modelPath}' does not exist.", modelPath);
        using var stream = new FileStream(modelPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        var scanner = new Scanner(stream, modelPath);
        scanner.Model(stream.Length);
        foreach (string location in scanner.Locations)
        {
            string normalized = location.Replace('\\', '/');
            if (Path.IsPathRooted(location) || normalized.Split('/').Any(part => part == ".."))
                throw new InvalidDataException(
                    $"'{modelPath}' refers to external data '{location}' outside its folder; only locations relative to the model's folder are supported.");
        }
        return scanner.Locations;
    }

    private sealed class Scanner(Stream stream, string path)
    {
        private readonly List<string> _locations = [];
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private int _depth;

        public IReadOnlyList<string> Locations => _locations;

        // ModelProto: 7 graph, 25 functions.
        public void Model(long end) => Fields(end, (field, length) =>
        {
            if (field == 7) Nested(length, Graph);
            else if (field == 25) Nested(length, Function);
            else return false;
            return true;
        });

        // GraphProto: 1 node, 5 initializer, 15 sparse_initializer.
        private void Graph(long end) => Fields(end, (field, length) =>
        {
            if (field == 1) Nested(length, Node);
            else if (field == 5) Nested(length, Tensor);
            else if (field == 15) Nested(length, Sparse);
            else return false;
            return true;
        });

        // FunctionProto: 7 node.
        private void Function(long end) => Fields(end, (field, length) =>
        {
            if (field != 7) return false;
            Nested(length, Node);
            return true;
        });

        // NodeProto: 5 attribute.
        private void Node(long end) => Fields(end, (field, length) =>
        {
            if (field != 5) return false;
            Nested(length, Attribute);
            return true;
        });

        // AttributeProto: 5 t, 6 g, 10 tensors, 11 graphs, 22 sparse_tensor, 23 sparse_tensors.
        private void Attribute(long end) => Fields(end, (field, length) =>
        {
            if (field is 5 or 10) Nested(length, Tensor);
            else if (field is 6 or 11) Nested(length, Graph);
            else if (field is 22 or 23) Nested(length, Sparse);
            else return false;
            return true;
        });

        // SparseTensorProto: 1 values, 2 indices.
        private void Sparse(long end) => Fields(end, (field, length) =>
        {
            if (field is not (1 or 2)) return false;
            Nested(length, Tensor);
            return true;
        });

        // TensorProto: 13 external_data (StringStringEntryProto: 1 key, 2 value).
        private void Tensor(long end) => Fields(end, (field, length) =>
        {
            if (field != 13) return false;
            string? key = null, value = null;
            Fields(stream.Position + length, (entryField, entryLength) =>
            {
                if (entryField is not (1 or 2)) return false;
                string text = ReadString(entryLength);
                if (entryField == 1) key = text;
                else value = text;
                return true;
            });
            if (key == "location" && !string.IsNullOrEmpty(value) && _seen.Add(value))
                _locations.Add(value);
            return true;
        });

        private void Nested(long length, Action<long> visit)
        {
            if (++_depth > MaxDepth)
                throw new InvalidDataException($"'{path}' nests graphs more than {MaxDepth} levels deep.");
            visit(stream.Position + length);
            _depth--;
        }

        /// <summary>Reads fields until <paramref name="end"/>; <paramref name="onLengthDelimited"/> consumes a length-delimited field or returns false to skip it.</summary>
        private void Fields(long end, Func<int, long, bool> onLengthDelimited)
        {
            if (end > stream.Length)
                throw Malformed("a message runs past the end of the file");
            while (stream.Position < end)
            {
                ulong tag = ReadVarint();
                int field = (int)(tag >> 3);
                switch ((int)(tag & 7))
                {
                    case 0:
                        ReadVarint();
                        break;
                    case 1:
                        Skip(8);
                        break;
                    case 2:
                        ulong length = ReadVarint();
                        if (length > (ulong)(end - stream.Position))
                            throw Malformed($"field {field} is longer than its message");
                        long start = stream.Position;
                        if (!onLengthDelimited(field, (long)length))
                            Skip((long)length);
                        else if (stream.Position != start + (long)length)
                            throw Malformed($"field {field} was not read to its end");
                        break;
                    case 5:
                        Skip(4);
                        break;
                    default:
                        throw Malformed($"wire type {tag & 7} of field {field} is not used by ONNX");
                }
            }
            if (stream.Position != end)
                throw Malformed("a field runs past the end of its message");
        }

        private ulong ReadVarint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                int b = stream.ReadByte();
                if (b < 0)
                    throw Malformed("the file ends inside a number");
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                    return value;
            }
            throw Malformed("a number is longer than 10 bytes");
        }

        private string ReadString(long length)
        {
            if (length > 1 << 20)
                throw Malformed("an external data entry is longer than 1 MB");
            var bytes = new byte[length];
            stream.ReadExactly(bytes);
            return System.Text.Encoding.UTF8.GetString(bytes);
        }

        private void Skip(long count)
        {
            if (stream.Position + count > stream.Length)
                throw Malformed("the file ends inside a field");
            stream.Seek(count, SeekOrigin.Current);
        }

        private InvalidDataException Malformed(string what) =>
            new($"'{path}' is not a well-formed ONNX model ({what}, at byte {stream.Position}).");
    }
}
