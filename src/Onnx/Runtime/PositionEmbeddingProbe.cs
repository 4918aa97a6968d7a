namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>
/// Reads, from an ONNX file, how many rows the position-embedding table has: the rank-2 tensor that a <c>Gather</c>
/// indexes with the <c>position_ids</c> input (through casts and reshapes). That row count is the graph's real
/// n_positions, which <see cref="CausalLM.Load"/> checks the folder's configuration against.
/// </summary>
/// <remarks>
/// A minimal protobuf scan of ModelProto (graph = 7), GraphProto (node = 1, initializer = 5), NodeProto (input = 1,
/// output = 2, op_type = 4, attribute = 5), AttributeProto (t = 5, g = 6, graphs = 11) and TensorProto (dims = 1,
/// name = 8). Tensor data is skipped by seeking, so a model with inline weights is not read in full; subgraphs (the
/// <c>If</c> branches of a merged decoder) are scanned too.
/// </remarks>
internal static class PositionEmbeddingProbe
{
    private const string PositionIds = "position_ids";
    private static readonly HashSet<string> s_passThrough = ["Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten"];

    /// <summary>The table's row count, or null when the graph has no such table (no position_ids, or computed positions).</summary>
    public static int? ReadRowCount(string modelFile)
    {
        var scan = new Scan();
        using (var stream = new FileStream(modelFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        {
            var reader = new Reader(stream);
            try
            {
                while (reader.TryReadTag(stream.Length, out int field, out int wire))
                {
                    if (field == 7 && wire == 2) ReadGraph(reader, reader.EndOfLength(), scan);
                    else reader.Skip(wire);
                }
            }
            catch (Exception e) when (e is EndOfStreamException or InvalidDataException or OverflowException)
            {
                return null; // ONNX Runtime reports a damaged file with its own message
            }
        }

        var positions = new HashSet<string>(StringComparer.Ordinal) { PositionIds };
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (var node in scan.Nodes)
                if (s_passThrough.Contains(node.OpType) && node.Inputs.Count > 0 && positions.Contains(node.Inputs[0]))
                    foreach (string output in node.Outputs)
                        grew |= positions.Add(output);
        }
        foreach (var node in scan.Nodes)
            if (node.OpType == "Gather" && node.Inputs.Count == 2 && positions.Contains(node.Inputs[1])
                && scan.Tensors.TryGetValue(node.Inputs[0], out long[]? dims) && dims.Length == 2 && dims[0] is > 0 and <= int.MaxValue)
                return (int)dims[0];
        return null;
    }

    private static void ReadGraph(Reader reader, long end, Scan scan)
    {
        while (reader.TryReadTag(end, out int field, out int wire))
        {
            if (field == 1 && wire == 2) ReadNode(reader, reader.EndOfLength(), scan);
            else if (field == 5 && wire == 2) ReadTensor(reader, reader.EndOfLength(), scan, null);
            else reader.Skip(wire);
        }
    }

    private static void ReadNode(Reader reader, long end, Scan scan)
    {
        var node = new Node();
        while (reader.TryReadTag(end, out int field, out int wire))
        {
            if (field == 1 && wire == 2) node.Inputs.Add(reader.ReadString());
            else if (field == 2 && wire == 2) node.Outputs.Add(reader.ReadString());
            else if (field == 4 && wire == 2) node.OpType = reader.ReadString();
            else if (field == 5 && wire == 2) ReadAttribute(reader, reader.EndOfLength(), scan, node);
            else reader.Skip(wire);
        }
        scan.Nodes.Add(node);
    }

    private static void ReadAttribute(Reader reader, long end, Scan scan, Node node)
    {
        while (reader.TryReadTag(end, out int field, out int wire))
        {
            // A Constant node's tensor is named by the node's output, which comes first in the file (field 2 before 5).
            if (field == 5 && wire == 2) ReadTensor(reader, reader.EndOfLength(), scan, node.Outputs.Count > 0 ? node.Outputs[0] : null);
            else if ((field == 6 || field == 11) && wire == 2) ReadGraph(reader, reader.EndOfLength(), scan);
            else reader.Skip(wire);
        }
    }

    private static void ReadTensor(Reader reader, long end, Scan scan, string? name)
    {
        var dims = new List<long>();
        while (reader.TryReadTag(end, out int field, out int wire))
        {
            if (field == 1 && wire == 0) dims.Add((long)reader.ReadVarint());
            else if (field == 1 && wire == 2)
            {
                long packedEnd = reader.EndOfLength();
                while (reader.Position < packedEnd) dims.Add((long)reader.ReadVarint());
            }
            else if (field == 8 && wire == 2)
            {
                string own = reader.ReadString();
                name ??= own;
            }
            else reader.Skip(wire);
        }
        if (name is not null) scan.Tensors[name] = dims.ToArray();
    }

    private sealed class Scan
    {
        public List<Node> Nodes { get; } = [];
        public Dictionary<string, long[]> Tensors { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Node
    {
        public string OpType { get; set; } = "";
        public List<string> Inputs { get; } = [];
        public List<string> Outputs { get; } = [];
    }

    /// <summary>Protobuf wire-format reading over a seekable stream.</summary>
    private sealed class Reader(Stream stream)
    {
        public long Position => stream.Position;

        public bool TryReadTag(long end, out int field, out int wire)
        {
            if (stream.Position >= end)
            {
                (field, wire) = (0, 0);
                return false;
            }
            ulong tag = ReadVarint();
            field = checked((int)(tag >> 3));
            wire = (int)(tag & 7);
            return true;
        }

        public ulong ReadVarint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                int b = stream.ReadByte();
                if (b < 0) throw new EndOfStreamException();
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return value;
            }
            throw new InvalidDataException("A varint is longer than 10 bytes.");
        }

        /// <summary>Reads a length prefix and returns where the field ends.</summary>
        public long EndOfLength()
        {
            long length = checked((long)ReadVarint());
            long end = stream.Position + length;
            if (length < 0 || end > stream.Length) throw new InvalidDataException("A field runs past the end of the file.");
            return end;
        }

        public string ReadString()
        {
            long end = EndOfLength();
            var bytes = new byte[end - stream.Position];
            stream.ReadExactly(bytes);
            return System.Text.Encoding.UTF8.GetString(bytes);
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: ReadVarint(); break;
                case 1: Seek(8); break;
                case 2: stream.Position = EndOfLength(); break;
                case 5: Seek(4); break;
                default: throw new InvalidDataException($"Unsupported protobuf wire type {wire}.");
            }
        }

        private void Seek(long count)
        {
            if (stream.Position + count > stream.Length) throw new EndOfStreamException();
            stream.Position += count;
        }
    }
}
