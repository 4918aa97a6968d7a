using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>What a decoder session expects, read from its input and output metadata (never from file names).</summary>
internal sealed class DecoderSignature
{
    internal const string InputIdsName = "input_ids";
    internal const string AttentionMaskName = "attention_mask";
    internal const string PositionIdsName = "position_ids";
    internal const string UseCacheBranchName = "use_cache_branch";
    internal const string LogitsName = "logits";

    public required DecoderLayout Layout { get; init; }
    public required TensorElementType InputIdsType { get; init; }
    public TensorElementType? AttentionMaskType { get; init; }
    public TensorElementType? PositionIdsType { get; init; }
    public required TensorElementType LogitsType { get; init; }
    public TensorElementType CacheType { get; init; } = TensorElementType.Float;
    public int LayerCount { get; init; }

    /// <summary>Heads per layer from the cache input's shape, or 0 when symbolic.</summary>
    public int HeadCount { get; init; }

    /// <summary>Head size from the cache input's shape, or 0 when symbolic.</summary>
    public int HeadSize { get; init; }

    /// <summary>Vocabulary size from the logits output's shape, or 0 when symbolic.</summary>
    public int VocabSize { get; init; }

    /// <summary>Cache input names in feed order (key, value per layer for Optimum; one stacked tensor per layer for ORT GPT-2).</summary>
    public string[] PastNames { get; init; } = [];

    /// <summary>Cache output names matching <see cref="PastNames"/> one to one.</summary>
    public string[] PresentNames { get; init; } = [];

    public bool HasAttentionMask => AttentionMaskType is not null;
    public bool HasPositionIds => PositionIdsType is not null;

    /// <summary>Index of the batch axis in a cache tensor (0 for Optimum, 1 for the stacked ORT GPT-2 layout).</summary>
    public int CacheBatchAxis => Layout == DecoderLayout.OrtGpt2 ? 1 : 0;

    public static DecoderSignature Detect(InferenceSession session, string source)
        => Detect(session.InputMetadata, session.OutputMetadata, source);

    public static DecoderSignature Detect(IReadOnlyDictionary<string, NodeMetadata> inputs, IReadOnlyDictionary<string, NodeMetadata> outputs, string source)
    {
        string Fail(string why) => throw new InvalidDataException(
            $"'{source}' is not a decoder layout this runner knows ({why}). Expected input_ids [+ attention_mask, position_ids] with " +
            "past_key_values.{i}.key/.value (Optimum, optionally with use_cache_branch) or past_{i} (ONNX Runtime GPT-2), or no cache at all; " +
            $"and a logits output. Found inputs: {Describe(inputs)}. Found outputs: {Describe(outputs)}.");

        if (!inputs.TryGetValue(InputIdsName, out var ids)) Fail("no 'input_ids' input");
        if (!outputs.TryGetValue(LogitsName, out var logits)) Fail("no 'logits' output");
        var idsType = ids!.ElementDataType;
        if (idsType is not (TensorElementType.Int64 or TensorElementType.Int32) || ids.Dimensions.Length != 2)
            Fail($"'input_ids' must be int64 or int32 of rank 2, found {DescribeOne(ids)}");
        if (logits!.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16) || logits.Dimensions.Length != 3)
            Fail($"'logits' must be float32 or float16 of rank 3 [batch, sequence, vocab], found {DescribeOne(logits)}");

        TensorElementType? maskType = null, positionType = null;
        if (inputs.TryGetValue(AttentionMaskName, out var mask))
        {
            if (mask.ElementDataType is not (TensorElementType.Int64 or TensorElementType.Int32 or TensorElementType.Float) || mask.Dimensions.Length != 2)
                Fail($"'attention_mask' must be int64, int32 or float32 of rank 2, found {DescribeOne(mask)}");
            maskType = mask.ElementDataType;
        }
        if (inputs.TryGetValue(PositionIdsName, out var positions))
        {
            if (positions.ElementDataType is not (TensorElementType.Int64 or TensorElementType.Int32) || positions.Dimensions.Length != 2)
                Fail($"'position_ids' must be int64 or int32 of rank 2, found {DescribeOne(positions)}");
            positionType = positions.ElementDataType;
        }
        bool merged = false;
        if (inputs.TryGetValue(UseCacheBranchName, out var branch))
        {
            if (branch.ElementDataType != TensorElementType.Bool) Fail($"'use_cache_branch' must be bool, found {DescribeOne(branch)}");
            merged = true;
        }

        var optimumPast = new SortedDictionary<int, (string Key, string Value)>();
        var ortPast = new SortedDictionary<int, string>();
        var unknown = new List<string>();
        foreach (var name in inputs.Keys)
        {
            if (name is InputIdsName or AttentionMaskName or PositionIdsName or UseCacheBranchName) continue;
            if (TryParseOptimumPast(name, out int layer, out bool isKey))
            {
                optimumPast.TryGetValue(layer, out var pair);
                optimumPast[layer] = isKey ? (name, pair.Value) : (pair.Key, name);
            }
            else if (TryParseIndexed(name, "past_", out layer)) ortPast[layer] = name;
            else unknown.Add(name);
        }
        if (unknown.Count > 0) Fail($"unexpected input(s) {string.Join(", ", unknown.Select(n => $"'{n}'"))}");
        if (optimumPast.Count > 0 && ortPast.Count > 0) Fail("both past_key_values.* and past_* inputs");
        if (merged && optimumPast.Count == 0) Fail("'use_cache_branch' without past_key_values.* inputs");

        var pastNames = new List<string>();
        var presentNames = new List<string>();
        DecoderLayout layout;
        int rank;
        if (optimumPast.Count > 0)
        {
            layout = merged ? DecoderLayout.OptimumMerged : DecoderLayout.Optimum;
            rank = 4;
            for (int i = 0; i < optimumPast.Count; i++)
            {
                if (!optimumPast.TryGetValue(i, out var pair) || pair.Key is null || pair.Value is null)
                    Fail($"past_key_values.{i}.key and .value are both needed for layers 0..{optimumPast.Count - 1}");
                pastNames.Add(pair.Key!); pastNames.Add(pair.Value!);
                presentNames.Add($"present.{i}.key"); presentNames.Add($"present.{i}.value");
            }
        }
        else if (ortPast.Count > 0)
        {
            layout = DecoderLayout.OrtGpt2;
            rank = 5;
            for (int i = 0; i < ortPast.Count; i++)
            {
                if (!ortPast.ContainsKey(i)) Fail($"past_{i} is missing (layers 0..{ortPast.Count - 1})");
                pastNames.Add($"past_{i}");
                presentNames.Add($"present_{i}");
            }
        }
        else
        {
            layout = DecoderLayout.NoCache;
            rank = 0;
        }

        TensorElementType cacheType = TensorElementType.Float;
        int heads = 0, headSize = 0;
        for (int i = 0; i < pastNames.Count; i++)
        {
            var past = inputs[pastNames[i]];
            if (!outputs.TryGetValue(presentNames[i], out var present))
                Fail($"input '{pastNames[i]}' has no matching output '{presentNames[i]}'");
            if (past.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16) || past.Dimensions.Length != rank)
                Fail($"'{pastNames[i]}' must be float32 or float16 of rank {rank}, found {DescribeOne(past)}");
            if (present!.ElementDataType != past.ElementDataType || present.Dimensions.Length != rank)
                Fail($"'{presentNames[i]}' must match '{pastNames[i]}' in type and rank, found {DescribeOne(present)}");
            if (i == 0)
            {
                cacheType = past.ElementDataType;
                heads = Math.Max(0, past.Dimensions[rank - 3]);
                headSize = Math.Max(0, past.Dimensions[rank - 1]);
                if (layout == DecoderLayout.OrtGpt2 && past.Dimensions[0] > 0 && past.Dimensions[0] != 2)
                    Fail($"'{pastNames[i]}' must stack key and value on its first axis (size 2), found {DescribeOne(past)}");
            }
            else if (past.ElementDataType != cacheType) Fail("cache inputs of mixed element types");
        }

        return new DecoderSignature
        {
            Layout = layout,
            InputIdsType = idsType,
            AttentionMaskType = maskType,
            PositionIdsType = positionType,
            LogitsType = logits.ElementDataType,
            CacheType = cacheType,
            LayerCount = layout switch { DecoderLayout.NoCache => 0, DecoderLayout.OrtGpt2 => pastNames.Count, _ => pastNames.Count / 2 },
            HeadCount = heads,
            HeadSize = headSize,
            VocabSize = Math.Max(0, logits.Dimensions[2]),
            PastNames = [.. pastNames],
            PresentNames = [.. presentNames],
        };
    }

    private static bool TryParseOptimumPast(string name, out int layer, out bool isKey)
    {
        layer = -1; isKey = false;
        const string prefix = "past_key_values.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return false;
        string rest = name[prefix.Length..];
        int dot = rest.IndexOf('.');
        if (dot <= 0) return false;
        string which = rest[(dot + 1)..];
        if (which is not ("key" or "value")) return false;
        isKey = which == "key";
        return int.TryParse(rest.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out layer);
    }

    private static bool TryParseIndexed(string name, string prefix, out int index)
    {
        index = -1;
        return name.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    internal static string Describe(IReadOnlyDictionary<string, NodeMetadata> nodes)
    {
        if (nodes.Count == 0) return "(none)";
        var sb = new StringBuilder();
        foreach (var (name, meta) in nodes)
        {
            if (sb.Length > 0) sb.Append(", ");
            sb.Append(name).Append(' ').Append(DescribeOne(meta));
        }
        return sb.ToString();
    }

    internal static string DescribeOne(NodeMetadata meta)
    {
        if (!meta.IsTensor) return meta.OnnxValueType.ToString();
        var dims = new string[meta.Dimensions.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            string symbol = meta.SymbolicDimensions is { } s && i < s.Length ? s[i] : "";
            dims[i] = meta.Dimensions[i] >= 0 ? meta.Dimensions[i].ToString(CultureInfo.InvariantCulture) : (string.IsNullOrEmpty(symbol) ? "?" : symbol);
        }
        return $"{ElementName(meta.ElementDataType)}[{string.Join(",", dims)}]";
    }

    internal static string ElementName(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float32",
        TensorElementType.Float16 => "float16",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        TensorElementType.Bool => "bool",
        _ => type.ToString().ToLowerInvariant(),
    };
}
