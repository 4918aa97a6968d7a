using System.Collections.Concurrent;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Serving;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// The configuration a GenerateText pipeline carries in its data (see <see cref="ConfiguredMapping"/>): the model file and
/// its SHA-256, the generation options and the session options. Saved models hold it, so a fresh process can rebuild
/// the same generator from the same files.
/// </summary>
internal sealed record GenerateTextConfig(
    string ModelPath,
    string ModelFile,
    string ModelSha256,
    GenerationOptions Generation,
    PromptOverflow PromptOverflow,
    int IntraOpNumThreads,
    ExecutionProvider ExecutionProvider,
    int DeviceId,
    bool AllowCpuFallback,
    string InputColumnName)
{
    public CausalLMOptions SessionOptions => new()
    {
        IntraOpNumThreads = IntraOpNumThreads,
        ExecutionProvider = ExecutionProvider,
        DeviceId = DeviceId,
        AllowCpuFallback = AllowCpuFallback,
    };

    public string SessionKey => $"causal-lm|{ModelFile}|{ModelSha256}|{IntraOpNumThreads}|{ExecutionProvider}|{DeviceId}|{AllowCpuFallback}";
}

/// <summary>One row's generation result, in the shape of the transform's output columns.</summary>
internal readonly record struct GeneratedRow(string Completion, string[] Completions, int[] TokenIds, string FinishReason, float Score);

/// <summary>
/// The loaded side of a GenerateText pipeline: one <see cref="CausalLM"/> per model file and session options (shared by
/// every pipeline, cursor and thread in the process), and a <see cref="TextGenerator"/> with this pipeline's options.
/// </summary>
internal sealed class GenerateTextRuntime
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> s_hashes = new();

    private GenerateTextRuntime(GenerateTextConfig config, CausalLM model)
    {
        Config = config;
        Model = model;
        Generator = new TextGenerator(model);
        if (Generator.Tokenizer is null)
            throw new InvalidOperationException(
                $"The model at '{config.ModelPath}' has no tokenizer files (vocab.json + merges.txt, or a character vocab.json); GenerateText needs one to turn prompts into ids.");
    }

    public GenerateTextConfig Config { get; }

    public CausalLM Model { get; }

    public TextGenerator Generator { get; }

    /// <summary>Loads the model (shared) and checks it for the options; used when the estimator is created.</summary>
    public static (GenerateTextConfig Config, string Encoded) Prepare(GenerateTextOptions options)
    {
        var probe = new GenerateTextConfig(Path.GetFullPath(options.ModelPath), "", "", options.Generation, options.PromptOverflow,
            options.IntraOpNumThreads, options.ExecutionProvider, options.DeviceId, options.AllowCpuFallback, options.InputColumnName);
        string modelFile = CausalLM.ResolveModelFile(probe.ModelPath);
        var config = probe with { ModelFile = modelFile, ModelSha256 = Sha256(modelFile) };
        LoadModel(config);
        string encoded = ConfiguredMapping.EncodeConfig(config);
        Get(encoded);
        return (config, encoded);
    }

    /// <summary>The runtime for a configuration string, created once per process.</summary>
    /// <remarks>Called for every row of the row-by-row path: the configuration string itself is the cache key (no per-row key building).</remarks>
    public static GenerateTextRuntime Get(string encodedConfig) =>
        ServingCache.GetOrCreate(encodedConfig, () =>
        {
            var config = ConfiguredMapping.DecodeConfig<GenerateTextConfig>(encodedConfig);
            if (!File.Exists(config.ModelFile))
                throw new FileNotFoundException(
                    $"The ONNX model '{config.ModelFile}' used by this GenerateText pipeline is missing: was the model folder '{config.ModelPath}' moved or deleted?",
                    config.ModelFile);
            string actual = Sha256(config.ModelFile);
            if (!string.Equals(actual, config.ModelSha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException(
                    $"The ONNX model '{config.ModelFile}' changed since this GenerateText pipeline was built (SHA-256 {actual}, expected {config.ModelSha256}). Rebuild the pipeline from the current model folder.");
            return new GenerateTextRuntime(config, LoadModel(config));
        });

    /// <summary>Generates for consecutive prompts (one batch); <paramref name="firstRow"/>, when known, numbers rows in error messages.</summary>
    public GeneratedRow[] Generate(IReadOnlyList<string?> prompts, long? firstRow)
    {
        var tokenizer = Generator.Tokenizer!;
        var ids = new IReadOnlyList<int>[prompts.Count];
        // With a sliding window (the default for models trained here) long prompts keep their last tokens in the engine.
        int? context = Model.Config.SlidesContext(Config.Generation) ? null : Model.Config.MaxPositions;
        for (int i = 0; i < prompts.Count; i++)
        {
            IReadOnlyList<int> promptIds = tokenizer.EncodeToIds(prompts[i] ?? "");
            if (context is int limit)
            {
                int maxNew = Config.Generation.GetMaxNewTokens(promptIds.Count);
                int room = limit - maxNew;
                if (promptIds.Count > room)
                {
                    if (Config.PromptOverflow == PromptOverflow.Throw || room < 1)
                        throw new ArgumentException(
                            $"The prompt {(firstRow is long r ? $"in row {r + i} " : "")}of column '{Config.InputColumnName}' has {promptIds.Count} tokens; with {maxNew} new tokens it exceeds the model's context of {limit} tokens. " +
                            "Shorten the prompt, lower MaxNewTokens, or set PromptOverflow = TruncateLeft.");
                    promptIds = promptIds.Skip(promptIds.Count - room).ToArray();
                }
            }
            ids[i] = promptIds;
        }

        var sequences = Generator.GenerateTokens(ids, Config.Generation);
        int perPrompt = Config.Generation.NumReturnSequences;
        var rows = new GeneratedRow[prompts.Count];
        for (int i = 0; i < prompts.Count; i++)
        {
            var group = new string[perPrompt];
            for (int j = 0; j < perPrompt; j++)
                group[j] = sequences[i * perPrompt + j].Text ?? "";
            var best = sequences[i * perPrompt];
            rows[i] = new GeneratedRow(group[0], group, best.TokenIds.ToArray(), FinishReasonName(best.FinishReason), (float)(best.Score ?? double.NaN));
        }
        return rows;
    }

    /// <summary>The short names used in the finish-reason column.</summary>
    public static string FinishReasonName(FinishReason reason) => reason switch
    {
        FinishReason.EndOfSequence => "eos",
        FinishReason.Length => "length",
        _ => "stop",
    };

    /// <summary>One session per model file content and session options, shared by every pipeline in the process.</summary>
    private static CausalLM LoadModel(GenerateTextConfig config) =>
        ServingCache.GetOrCreate(config.SessionKey, () => CausalLM.Load(config.ModelPath, config.SessionOptions));

    /// <summary>SHA-256 of a model file, computed once per (path, size, write time) in this process.</summary>
    private static string Sha256(string path)
    {
        var info = new FileInfo(path);
        return s_hashes.GetOrAdd((info.FullName, info.Length, info.LastWriteTimeUtc), _ => FileFingerprint.Sha256(path));
    }
}
