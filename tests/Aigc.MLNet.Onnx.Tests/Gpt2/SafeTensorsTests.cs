using System.Buffers.Binary;
using System.Text;
using Aigc.MLNet.Onnx.Gpt2;

namespace Aigc.MLNet.Onnx.Tests.Gpt2;

[TestClass]
public sealed class SafeTensorsTests
{
    [TestMethod]
    public void WriteThenRead_F32F16BF16_KeepValuesAndHeaderFormat()
    {
        using var tmp = new TempFolder();
        string path = tmp.File("t.safetensors");
        var w = new SafeTensorsWriter();
        w.Add("b.f16", [1.5f, -2f, 0.1f], [3], "F16");
        w.Add("a.f32", [1f, 2f, 3f, 4f, 5f, 6f], [2, 3]);
        w.Add("c.bf16", [1.5f, -2f, 0.1f, 3.14159f], [2, 2], "BF16");
        w.Metadata["note"] = "test";
        w.Save(path);

        byte[] raw = File.ReadAllBytes(path);
        long headerLen = (long)BinaryPrimitives.ReadUInt64LittleEndian(raw);
        Assert.AreEqual(0, headerLen % 8, "header padded to 8 bytes");
        string header = Encoding.UTF8.GetString(raw, 8, (int)headerLen);
        StringAssert.Contains(header, "\"a.f32\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}");
        Assert.AreEqual(8 + headerLen + 24 + 6 + 8, raw.Length);

        using var f = SafeTensorsFile.Open(path);
        Assert.AreEqual("pt", f.Metadata["format"]);
        Assert.AreEqual("test", f.Metadata["note"]);
        CollectionAssert.AreEqual(new[] { "a.f32", "b.f16", "c.bf16" }, f.Tensors.Select(t => t.Name).ToArray());
        CollectionAssert.AreEqual(new long[] { 2, 3 }, f["a.f32"].Shape.ToArray());
        CollectionAssert.AreEqual(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, f.ReadFloat32("a.f32"));
        CollectionAssert.AreEqual(new[] { 1.5f, -2f, 0.0999755859375f }, f.ReadFloat32("b.f16"));
        CollectionAssert.AreEqual(new[] { 1.5f, -2f, 0.10009765625f, 3.140625f }, f.ReadFloat32("c.bf16"));
        Assert.AreEqual(8, f.ReadBytes("c.bf16").Length);
    }

    private static string WriteRaw(TempFolder tmp, string headerJson, int dataBytes, long? headerLenOverride = null)
    {
        string path = tmp.File(Guid.NewGuid().ToString("N") + ".safetensors");
        byte[] h = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(headerLenOverride ?? h.Length));
        h.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [TestMethod]
    public void CorruptFiles_FailNamingFileAndTensor()
    {
        using var tmp = new TempFolder();
        string tooLong = WriteRaw(tmp, "{}", 0, headerLenOverride: 1_000_000);
        var e1 = Assert.ThrowsExactly<InvalidDataException>(() => SafeTensorsFile.Open(tooLong));
        StringAssert.Contains(e1.Message, tooLong);
        StringAssert.Contains(e1.Message, "header length");

        string badJson = WriteRaw(tmp, "{\"x\": [", 0);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => SafeTensorsFile.Open(badJson)).Message, "not valid JSON");

        string outside = WriteRaw(tmp, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        var e3 = Assert.ThrowsExactly<InvalidDataException>(() => SafeTensorsFile.Open(outside));
        StringAssert.Contains(e3.Message, "tensor 'w'");
        StringAssert.Contains(e3.Message, "[0, 16]");

        string mismatch = WriteRaw(tmp, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => SafeTensorsFile.Open(mismatch)).Message, "needs 12 bytes");

        string dtype = WriteRaw(tmp, "{\"w\":{\"dtype\":\"Q4\",\"shape\":[3],\"data_offsets\":[0,12]}}", 12);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => SafeTensorsFile.Open(dtype)).Message, "unknown dtype 'Q4'");

        string ints = WriteRaw(tmp, "{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
        using var f = SafeTensorsFile.Open(ints);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => f.ReadFloat32("w")).Message, "dtype I64");
        StringAssert.Contains(Assert.ThrowsExactly<KeyNotFoundException>(() => f["missing"]).Message, "'missing'");

        string tiny = WriteRaw(tmp, "", 0);
        File.WriteAllBytes(tiny, [1, 2, 3]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => SafeTensorsFile.Open(tiny)).Message, "too short");
    }
}
