using System.Globalization;

namespace Aigc.MLNet.Onnx.Gpt2;

/// <summary>
/// GPT-2 parameters as float32 arrays keyed by Hugging Face names (<c>transformer.wte.weight</c>,
/// <c>transformer.h.{i}.attn.c_attn.weight</c>, …). Conv1D weights use Hugging Face's [in, out] layout (y = x·W + b);
/// the language-model head is tied to <c>transformer.wte.weight</c>. Names without the <c>transformer.</c> prefix are
/// accepted; the <c>attn.bias</c>/<c>attn.masked_bias</c> buffers and a tied <c>lm_head.weight</c> are ignored.
/// Every tensor's shape is checked against the config when it is set.
/// </summary>
public sealed class Gpt2Weights
{
    private const string Prefix = "transformer.";
    private readonly Dictionary<string, float[]> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int[]> _expected;

    /// <summary>Creates an empty container for a model shaped by <paramref name="config"/>.</summary>
    public Gpt2Weights(Gpt2Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _expected = ExpectedShapes(config);
    }

    /// <summary>The model shape these weights belong to.</summary>
    public Gpt2Config Config { get; }

    /// <summary>Canonical names of the tensors set so far.</summary>
    public IReadOnlyCollection<string> Names => _tensors.Keys;

    /// <summary>Total number of parameters the config needs.</summary>
    public long ParameterCount => _expected.Values.Sum(s => (long)s.Aggregate(1L, (a, d) => a * d));

    /// <summary>Every parameter name of a GPT-2 with this config, with its shape, in Hugging Face order.</summary>
    public static Dictionary<string, int[]> ExpectedShapes(Gpt2Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int e = config.EmbeddingSize, m = config.MlpSize;
        var d = new Dictionary<string, int[]>(StringComparer.Ordinal)
        {
            ["transformer.wte.weight"] = [config.VocabSize, e],
            ["transformer.wpe.weight"] = [config.MaxPositions, e],
        };
        for (int i = 0; i < config.NumLayers; i++)
        {
            string p = LayerPrefix(i);
            d[p + "ln_1.weight"] = [e];
            d[p + "ln_1.bias"] = [e];
            d[p + "attn.c_attn.weight"] = [e, 3 * e];
            d[p + "attn.c_attn.bias"] = [3 * e];
            d[p + "attn.c_proj.weight"] = [e, e];
            d[p + "attn.c_proj.bias"] = [e];
            d[p + "ln_2.weight"] = [e];
            d[p + "ln_2.bias"] = [e];
            d[p + "mlp.c_fc.weight"] = [e, m];
            d[p + "mlp.c_fc.bias"] = [m];
            d[p + "mlp.c_proj.weight"] = [m, e];
            d[p + "mlp.c_proj.bias"] = [e];
        }
        d["transformer.ln_f.weight"] = [e];
        d["transformer.ln_f.bias"] = [e];
        return d;
    }

    /// <summary>The Hugging Face name prefix of block <paramref name="layer"/>: <c>transformer.h.{layer}.</c></summary>
    public static string LayerPrefix(int layer) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}h.{layer}.");

    /// <summary>True for names GPT-2 checkpoints carry that are not parameters (causal-mask buffers, tied lm_head).</summary>
    public static bool IsIgnoredName(string name)
    {
        string n = Canonical(name);
        return n.EndsWith(".attn.bias", StringComparison.Ordinal) && n.StartsWith(Prefix + "h.", StringComparison.Ordinal)
            || n.EndsWith(".attn.masked_bias", StringComparison.Ordinal)
            || n == "lm_head.weight";
    }

    /// <summary>The canonical (<c>transformer.</c>-prefixed) form of a Hugging Face GPT-2 name.</summary>
    public static string Canonical(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.StartsWith(Prefix, StringComparison.Ordinal) || name.StartsWith("lm_head.", StringComparison.Ordinal)) return name;
        return Prefix + name;
    }

    /// <summary>The expected shape of parameter <paramref name="name"/>, or null if GPT-2 has no such parameter.</summary>
    public IReadOnlyList<int>? ExpectedShape(string name) => _expected.TryGetValue(Canonical(name), out int[]? s) ? s : null;

    /// <summary>
    /// Stores a parameter (the array is kept, not copied). Ignored buffers are accepted and dropped.
    /// </summary>
    /// <returns>False when the name is an ignored buffer, true when stored.</returns>
    /// <exception cref="ArgumentException">Unknown name, or shape/length not what the config expects.</exception>
    public bool Set(string name, float[] data, IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        string canonical = Canonical(name);
        if (IsIgnoredName(canonical))
        {
            if (canonical == "lm_head.weight") CheckShape(name, shape, _expected["transformer.wte.weight"]);
            return false;
        }
        if (!_expected.TryGetValue(canonical, out int[]? expected))
            throw new ArgumentException($"Tensor '{name}' is not a GPT-2 parameter for {Config} (expected names like 'transformer.h.0.attn.c_attn.weight').", nameof(name));
        CheckShape(name, shape, expected);
        long count = shape.Aggregate(1L, (a, d) => a * d);
        if (data.LongLength != count)
            throw new ArgumentException($"Tensor '{name}' has shape {Format(shape)} ({count} values) but {data.LongLength} values were given.", nameof(data));
        _tensors[canonical] = data;
        return true;
    }

    private void CheckShape(string name, IReadOnlyList<int> shape, int[] expected)
    {
        if (!shape.SequenceEqual(expected))
            throw new ArgumentException($"Tensor '{name}' has shape {Format(shape)} but {Config} expects {Format(expected)}.", nameof(shape));
    }

    internal static string Format(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>True when parameter <paramref name="name"/> has been set.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(Canonical(name));

    /// <summary>The stored array of parameter <paramref name="name"/> (live, not a copy).</summary>
    /// <exception cref="KeyNotFoundException">The parameter is not set.</exception>
    public float[] Get(string name) =>
        _tensors.TryGetValue(Canonical(name), out float[]? t)
            ? t
            : throw new KeyNotFoundException($"GPT-2 weights have no tensor '{Canonical(name)}'.");

    /// <summary>Throws <see cref="InvalidDataException"/> listing the missing parameters, if any.</summary>
    public void Validate()
    {
        var missing = _expected.Keys.Where(k => !_tensors.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException(
                $"GPT-2 weights for {Config} are missing {missing.Count} tensor(s): {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? ", …" : "")}.");
    }

    /// <summary>
    /// Random weights with GPT-2's initialisation (normal with std <see cref="Gpt2Config.InitializerRange"/>, residual
    /// projections scaled by 1/√(2·layers), zero biases, unit layer-norm gains), reproducible from <paramref name="seed"/>.
    /// </summary>
    public static Gpt2Weights Random(Gpt2Config config, int seed)
    {
        var w = new Gpt2Weights(config);
        float std = config.InitializerRange;
        float projStd = std / MathF.Sqrt(2f * config.NumLayers);
        var entries = w._expected.ToArray();
        var arrays = new float[entries.Length][];
        // One generator per tensor, seeded from (seed, index): the result does not depend on thread scheduling.
        Parallel.For(0, entries.Length, i =>
        {
            var (name, shape) = entries[i];
            var data = new float[shape.Aggregate(1, (a, d) => checked(a * d))];
            if (name.EndsWith(".bias", StringComparison.Ordinal)) { /* zeros */ }
            else if (name.Contains(".ln_", StringComparison.Ordinal)) Array.Fill(data, 1f);
            else FillNormal(new System.Random(unchecked(seed * 1_000_003 + i * 7919)), data,
                name.EndsWith("c_proj.weight", StringComparison.Ordinal) ? projStd : std);
            arrays[i] = data;
        });
        for (int i = 0; i < entries.Length; i++) w._tensors[entries[i].Key] = arrays[i];
        return w;
    }

    internal static void FillNormal(System.Random rng, float[] data, float std)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1)) * std;
            data[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < data.Length) data[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
        }
    }
}
