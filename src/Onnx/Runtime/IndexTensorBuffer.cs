using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>A reusable managed buffer for an integer-valued model input (ids, mask, positions) in the element type the model wants.</summary>
internal sealed class IndexTensorBuffer
{
    private readonly TensorElementType _type;
    private long[] _int64 = [];
    private int[] _int32 = [];
    private float[] _float = [];

    public IndexTensorBuffer(TensorElementType type, int capacity)
    {
        _type = type;
        EnsureCapacity(capacity);
    }

    public void EnsureCapacity(int count)
    {
        switch (_type)
        {
            case TensorElementType.Int64: if (_int64.Length < count) _int64 = new long[Grow(_int64.Length, count)]; break;
            case TensorElementType.Int32: if (_int32.Length < count) _int32 = new int[Grow(_int32.Length, count)]; break;
            case TensorElementType.Float: if (_float.Length < count) _float = new float[Grow(_float.Length, count)]; break;
            default: throw new NotSupportedException($"Element type {_type} is not an index type.");
        }
    }

    private static int Grow(int current, int needed) => Math.Max(needed, current * 2);

    public void Set(int index, long value)
    {
        switch (_type)
        {
            case TensorElementType.Int64: _int64[index] = value; break;
            case TensorElementType.Int32: _int32[index] = checked((int)value); break;
            default: _float[index] = value; break;
        }
    }

    /// <summary>Wraps the first elements of the buffer as a tensor; the OrtValue pins the memory until disposed.</summary>
    public OrtValue CreateView(long[] shape)
    {
        long count = 1;
        foreach (long d in shape) count *= d;
        int n = checked((int)count);
        return _type switch
        {
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<long>(_int64, 0, n), shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<int>(_int32, 0, n), shape),
            _ => OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(_float, 0, n), shape),
        };
    }
}
