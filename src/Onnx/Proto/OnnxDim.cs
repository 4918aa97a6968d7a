namespace Aigc.MLNet.Onnx.Proto;

/// <summary>
/// One dimension of a graph input/output shape: either a fixed size (<c>dim_value</c>) or a symbolic name
/// (<c>dim_param</c>, e.g. "batch"). Converts implicitly from <see cref="int"/>, <see cref="long"/> and
/// <see cref="string"/>, so a shape can be written <c>["batch", 3]</c>.
/// </summary>
public readonly struct OnnxDim : IEquatable<OnnxDim>
{
    private OnnxDim(long? value, string? param)
    {
        Value = value;
        Param = param;
    }

    /// <summary>The fixed size, or null when the dimension is symbolic.</summary>
    public long? Value { get; }

    /// <summary>The symbolic name, or null when the dimension is fixed.</summary>
    public string? Param { get; }

    /// <summary>True when the dimension has a symbolic name.</summary>
    public bool IsSymbolic => Param is not null;

    /// <summary>A fixed dimension.</summary>
    public static OnnxDim Fixed(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return new OnnxDim(value, null);
    }

    /// <summary>A symbolic dimension named <paramref name="name"/>.</summary>
    public static OnnxDim Symbolic(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new OnnxDim(null, name);
    }

    /// <summary>Fixed dimension from an int.</summary>
    public static implicit operator OnnxDim(int value) => Fixed(value);

    /// <summary>Fixed dimension from a long.</summary>
    public static implicit operator OnnxDim(long value) => Fixed(value);

    /// <summary>Symbolic dimension from a name.</summary>
    public static implicit operator OnnxDim(string name) => Symbolic(name);

    /// <inheritdoc/>
    public bool Equals(OnnxDim other) => Value == other.Value && Param == other.Param;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is OnnxDim d && Equals(d);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Value, Param);

    /// <summary>Equality.</summary>
    public static bool operator ==(OnnxDim left, OnnxDim right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(OnnxDim left, OnnxDim right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => Param ?? Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?";
}
