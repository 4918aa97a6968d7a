using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;

namespace Aigc.MLNet.Transforms.Serving;

/// <summary>
/// Builds saveable ML.NET pipelines around a <see cref="CustomMappingFactory{TSrc, TDst}"/> whose per-instance
/// configuration (model folder, file hashes, options) travels in the data as a constant string column.
/// </summary>
/// <remarks>
/// A third-party assembly cannot write its own loadable transformer, and CustomMapping saves only its contract name.
/// The chain built here uses saveable built-ins only:
/// <list type="number">
/// <item>a <see cref="ConfigAnchorMapping"/> CustomMapping that adds a constant <c>__AigcAnchor</c> column (it reads no input, so any data works);</item>
/// <item><c>Expression("AigcConfig", "x =&gt; \"BASE64\"", "__AigcAnchor")</c>: the configuration as a constant column, base64 JSON so no quoting issues;</item>
/// <item><c>CopyColumns</c> from the user's column names to the fixed property names of the mapping's input class;</item>
/// <item>the mapping's CustomMapping, which reads <c>AigcConfig</c> from each row and resolves its heavy state (e.g. an
/// ONNX Runtime session) once through <see cref="ServingCache"/>;</item>
/// <item><c>CopyColumns</c> to the user's output names and <c>DropColumns</c> of every temporary.</item>
/// </list>
/// A pipeline saved with <c>EmbedModel</c> also carries the model files between steps 2 and 3 (format and steps in
/// EmbeddedModel.cs, beside the code that writes and reads them).
/// Loading a saved model in a fresh process needs <c>mlContext.ComponentCatalog.RegisterAssembly(assembly)</c> for every
/// assembly holding a factory (this one included) before <c>mlContext.Model.Load</c>.
/// </remarks>
public static class ConfiguredMapping
{
    /// <summary>Name of the string column carrying the configuration; mapping input classes declare a string property with this name.</summary>
    public const string ConfigColumnName = "AigcConfig";

    /// <summary>Name of the constant column the configuration expression is computed from.</summary>
    public const string AnchorColumnName = "__AigcAnchor";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = false };

    /// <summary>Serialises a configuration object to the base64 JSON string stored in the data.</summary>
    public static string EncodeConfig<T>(T config) =>
        Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(config, s_json));

    /// <summary>Reads a configuration written by <see cref="EncodeConfig{T}"/>.</summary>
    /// <exception cref="InvalidOperationException">The string is not a configuration of type <typeparamref name="T"/>.</exception>
    public static T DecodeConfig<T>(string encoded)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(Convert.FromBase64String(encoded), s_json)
                ?? throw new InvalidOperationException("empty configuration");
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new InvalidOperationException(
                $"Column '{ConfigColumnName}' does not hold a valid {typeof(T).Name} configuration: {e.Message}", e);
        }
    }

    /// <summary>Builds the saveable chain that runs <paramref name="factory"/> with <paramref name="encodedConfig"/>.</summary>
    /// <typeparam name="TSrc">Mapping input class: a string property <see cref="ConfigColumnName"/> plus the mapped inputs.</typeparam>
    /// <typeparam name="TDst">Mapping output class.</typeparam>
    /// <param name="mlContext">The ML.NET context (its log and seed reach the chain's transforms).</param>
    /// <param name="encodedConfig">Configuration from <see cref="EncodeConfig{T}"/>.</param>
    /// <param name="factory">The mapping factory; its class must carry <see cref="CustomMappingFactoryAttributeAttribute"/> with <paramref name="contractName"/>.</param>
    /// <param name="contractName">The factory's contract name.</param>
    /// <param name="inputs">Pairs (user column, property of <typeparamref name="TSrc"/>).</param>
    /// <param name="outputs">Pairs (property of <typeparamref name="TDst"/>, user column).</param>
    public static IEstimator<ITransformer> Create<TSrc, TDst>(
        MLContext mlContext, string encodedConfig, CustomMappingFactory<TSrc, TDst> factory, string contractName,
        IReadOnlyList<(string Column, string Property)> inputs, IReadOnlyList<(string Property, string Column)> outputs)
        where TSrc : class, new()
        where TDst : class, new()
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return Create(mlContext.Transforms, encodedConfig, factory, contractName, inputs, outputs);
    }

    /// <summary>Builds the saveable chain that runs <paramref name="factory"/> with <paramref name="encodedConfig"/>, from the caller's transforms catalog.</summary>
    /// <typeparam name="TSrc">Mapping input class: a string property <see cref="ConfigColumnName"/> plus the mapped inputs.</typeparam>
    /// <typeparam name="TDst">Mapping output class.</typeparam>
    /// <param name="catalog">The caller's <c>mlContext.Transforms</c> (its context's log and seed reach the chain's transforms).</param>
    /// <param name="encodedConfig">Configuration from <see cref="EncodeConfig{T}"/>.</param>
    /// <param name="factory">The mapping factory; its class must carry <see cref="CustomMappingFactoryAttributeAttribute"/> with <paramref name="contractName"/>.</param>
    /// <param name="contractName">The factory's contract name.</param>
    /// <param name="inputs">Pairs (user column, property of <typeparamref name="TSrc"/>).</param>
    /// <param name="outputs">Pairs (property of <typeparamref name="TDst"/>, user column).</param>
    public static IEstimator<ITransformer> Create<TSrc, TDst>(
        TransformsCatalog catalog, string encodedConfig, CustomMappingFactory<TSrc, TDst> factory, string contractName,
        IReadOnlyList<(string Column, string Property)> inputs, IReadOnlyList<(string Property, string Column)> outputs)
        where TSrc : class, new()
        where TDst : class, new()
        => Create(catalog, encodedConfig, factory, contractName, inputs, outputs, carrier: null);

    /// <summary>The chain, optionally carrying embedded model files (see EmbeddedModel.cs for the format).</summary>
    internal static IEstimator<ITransformer> Create<TSrc, TDst>(
        TransformsCatalog catalog, string encodedConfig, CustomMappingFactory<TSrc, TDst> factory, string contractName,
        IReadOnlyList<(string Column, string Property)> inputs, IReadOnlyList<(string Property, string Column)> outputs,
        EmbeddedModelCarrier? carrier)
        where TSrc : class, new()
        where TDst : class, new()
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(encodedConfig);
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentException.ThrowIfNullOrEmpty(contractName);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (typeof(TSrc).GetProperty(ConfigColumnName, BindingFlags.Public | BindingFlags.Instance)?.PropertyType != typeof(string))
            throw new ArgumentException($"{typeof(TSrc).Name} must declare a public string property '{ConfigColumnName}'.", nameof(factory));
        var attribute = factory.GetType().GetCustomAttribute<CustomMappingFactoryAttributeAttribute>();
        if (attribute?.ContractName != contractName)
            throw new ArgumentException($"{factory.GetType().Name} must carry [CustomMappingFactoryAttribute(\"{contractName}\")].", nameof(contractName));
        CheckBase64(encodedConfig, nameof(encodedConfig));

        var temporaries = new List<string> { AnchorColumnName, ConfigColumnName };
        IEstimator<ITransformer> chain = catalog.CustomMapping(new ConfigAnchorMapping().GetMapping(), ConfigAnchorMapping.ContractName);
        if (carrier is null)
        {
            chain = chain.Append(catalog.Expression(ConfigColumnName, $"x => \"{encodedConfig}\"", AnchorColumnName));
        }
        else
        {
            CheckBase64(carrier.Key, nameof(carrier));
            chain = chain
                .Append(catalog.Expression(EmbedKeyColumnName, $"x => \"{carrier.Key}\"", AnchorColumnName))
                .Append(catalog.Expression(ConfigSourceColumnName, $"x => \"{encodedConfig}\"", AnchorColumnName))
                .Append(catalog.CustomMapping(new EmbeddedModelGateMapping().GetMapping(), EmbeddedModelGateMapping.ContractName))
                .Append(catalog.ApplyOnnxModel(new OnnxOptions
                {
                    ModelFile = carrier.Path,
                    InputColumns = [EmbedEndColumnName],
                    OutputColumns = [EmbedBytesColumnName],
                    IntraOpNumThreads = 1,
                    InterOpNumThreads = 1,
                }))
                .Append(catalog.CustomMapping(new EmbeddedModelMapping().GetMapping(), EmbeddedModelMapping.ContractName));
            temporaries.AddRange([EmbedKeyColumnName, ConfigSourceColumnName, EmbedEndColumnName, EmbedBytesColumnName]);
        }
        foreach (var (column, property) in inputs)
        {
            if (column == property) continue;
            chain = chain.Append(catalog.CopyColumns(property, column));
            temporaries.Add(property);
        }
        chain = chain.Append(catalog.CustomMapping(factory.GetMapping(), contractName));
        foreach (var (property, column) in outputs)
        {
            if (column == property) continue;
            chain = chain.Append(catalog.CopyColumns(column, property));
            temporaries.Add(property);
        }
        return chain.Append(catalog.DropColumns(temporaries.Distinct().ToArray()));
    }

    /// <summary>Temporary column: the encoded description of embedded model files.</summary>
    internal const string EmbedKeyColumnName = "__AigcEmbedKey";

    /// <summary>Temporary column: the configuration before the embedded files are in place.</summary>
    internal const string ConfigSourceColumnName = "__AigcConfigSource";

    /// <summary>Temporary column: how many payload bytes the carrier returns for a row.</summary>
    internal const string EmbedEndColumnName = "__AigcEmbedEnd";

    /// <summary>Temporary column: the payload bytes.</summary>
    internal const string EmbedBytesColumnName = "__AigcEmbedBytes";

    private static void CheckBase64(string value, string name)
    {
        foreach (char c in value)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '='))
                throw new ArgumentException("The configuration must be base64 (use EncodeConfig).", name);
    }
}

/// <summary>Input of <see cref="ConfigAnchorMapping"/>: reads no column.</summary>
public sealed class ConfigAnchorInput
{
}

/// <summary>Output of <see cref="ConfigAnchorMapping"/>: a constant zero.</summary>
public sealed class ConfigAnchorOutput
{
    /// <summary>Always 0; only its presence matters.</summary>
    public float __AigcAnchor { get; set; }
}

/// <summary>Adds the constant column the configuration expression is computed from.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ConfigAnchorMapping : CustomMappingFactory<ConfigAnchorInput, ConfigAnchorOutput>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.Serving.ConfigAnchor";

    /// <inheritdoc/>
    public override Action<ConfigAnchorInput, ConfigAnchorOutput> GetMapping() => static (_, output) => output.__AigcAnchor = 0;
}
