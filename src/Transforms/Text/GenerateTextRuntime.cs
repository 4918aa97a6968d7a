using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Transforms.Serving;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// The configuration a GenerateText pipeline carries in its data (see <see cref="ConfiguredMapping"/>): where the model's
/// files are and the SHA-256 of each of them (<see cref="ModelSource"/>), the model file inside that folder, the
/// generation options and the session options. Saved models hold it, so a fresh process can rebuild the same generator
/// from the same files.
/// </summary>
internal sealed record GenerateTextConfig(
    ModelSource Source,
    string ModelFile,
    bool LoadFolder,
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

    /// <summary>Sessions are shared by content, not by path: two copies of a model folder share one session.</summary>
    public string SessionKey => $"causal-lm|{Source.ContentHash}|{ModelFile}|{LoadFolder}|{IntraOpNumThreads}|{ExecutionProvider}|{DeviceId}|{AllowCpuFallback}";
}

/// <summary>One row's generation result, in the shape of the transform's output columns.</summary>
internal readonly record struct GeneratedRow(string Completion, string[] Completions, int[] TokenIds, string FinishReason, float Score);

/// <summary>
/// The loaded side of a GenerateText pipeline: one <see cref="CausalLM"/> per model content and session options (shared
/// through a <see cref="ServingCache"/> lease by every pipeline, cursor and thread in the process), and a
/// <see cref="TextGenerator"/> with this pipeline's options. Disposing it releases its lease on the model.
/// </summary>
internal sealed class GenerateTextRuntime : IDisposable
{
    /// <summary>Files a causal LM folder may hold that <see cref="CausalLM.Load"/> reads (configuration and tokenizer).</summary>
    internal static readonly string[] FolderFiles =
    [
        "config.json", "generation_config.json", "genai_config.json",
        AutoTokenizer.VocabFileName, AutoTokenizer.MergesFileName, AutoTokenizer.TokenizerConfigFileName,
    ];

    private readonly ServingLease<CausalLM> _model;

    private GenerateTextRuntime(GenerateTextConfig config, ServingLease<CausalLM> model, string folder)
    {
        Config = config;
        _model = model;
        Model = model.Value;
        Folder = folder;
        Generator = new TextGenerator(Model);
        if (Generator.Tokenizer is null)
            throw new InvalidOperationException(
                $"GenerateText: the model at '{folder}' has no tokenizer files (vocab.json + merges.txt, or a character vocab.json); GenerateText needs one to turn prompts into ids.");
    }

    public GenerateTextConfig Config { get; }

    public CausalLM Model { get; }

    /// <summary>The folder the files were read from (the recorded one, a found copy, or the extracted embedded copy).</summary>
    public string Folder { get; }

    public TextGenerator Generator { get; }

    /// <summary>Fingerprints the model's files, loads the runtime and returns it with a lease; used when the estimator is created.</summary>
    public static (GenerateTextConfig Config, string Encoded, ServingLease<GenerateTextRuntime> Lease) Prepare(GenerateTextOptions options)
    {
        string path = Path.GetFullPath(options.ModelPath);
        bool isFolder = Directory.Exists(path);
        string modelFile = CausalLM.ResolveModelFile(path);
        string folder = isFolder ? path : ConfigurationFolderOf(modelFile);
        var source = ModelSource.Capture(folder, "GenerateText", [Path.GetRelativePath(folder, modelFile)], FolderFiles,
            options.ModelSearchPaths, options.EmbedModel);
        var config = new GenerateTextConfig(source, Path.GetRelativePath(folder, modelFile).Replace('\\', '/'), isFolder, options.Generation,
            options.PromptOverflow, options.IntraOpNumThreads, options.ExecutionProvider, options.DeviceId, options.AllowCpuFallback,
            options.InputColumnName);
        string encoded = ConfiguredMapping.EncodeConfig(config);
        return (config, encoded, Acquire(encoded));
    }

    /// <summary>A lease on the runtime of a configuration string (a fitted transformer holds one).</summary>
    public static ServingLease<GenerateTextRuntime> Acquire(string encodedConfig) => ServingCache.Acquire(encodedConfig, () => Create(encodedConfig));

    /// <summary>Runs <paramref name="use"/> on the runtime of a configuration string, without a lease: the rows of the row-by-row path.</summary>
    /// <remarks>Called for every row: the configuration string itself is the cache key (no per-row key building).</remarks>
    public static T Use<T>(string encodedConfig, Func<GenerateTextRuntime, T> use) => ServingCache.Use(encodedConfig, () => Create(encodedConfig), use);

    private static GenerateTextRuntime Create(string encodedConfig)
    {
        var config = ConfiguredMapping.DecodeConfig<GenerateTextConfig>(encodedConfig);
        string folder = config.Source.Resolve();
        string modelFile = ModelSource.Full(folder, config.ModelFile);
        var model = ServingCache.Acquire(config.SessionKey, () =>
        {
            var lm = CausalLM.Load(config.LoadFolder ? folder : modelFile, config.SessionOptions);
            if (!string.Equals(Path.GetFullPath(lm.ModelPath), Path.GetFullPath(modelFile), StringComparison.Ordinal))
            {
                string loaded = lm.ModelPath;
                lm.Dispose();
                throw new InvalidDataException($"GenerateText: the folder '{folder}' now selects the model file '{loaded}', not '{modelFile}' recorded when the pipeline was built.");
            }
            return lm;
        });
        try
        {
            return new GenerateTextRuntime(config, model, folder);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The folder <see cref="CausalLM.Load"/> reads configuration and tokenizer files from for a model file.</summary>
    private static string ConfigurationFolderOf(string modelFile)
    {
        string folder = Path.GetDirectoryName(modelFile)!;
        if (!File.Exists(Path.Combine(folder, "config.json"))
            && string.Equals(Path.GetFileName(folder), "onnx", StringComparison.OrdinalIgnoreCase)
            && Path.GetDirectoryName(folder) is { } parent && File.Exists(Path.Combine(parent, "config.json")))
            return parent;
        return folder;
    }

    public void Dispose() => _model.Dispose();

    /// <summary>Generates for consecutive prompts (one batch); <paramref name="firstRow"/>, when known, numbers rows in error messages.</summary>
    public GeneratedRow[] Generate(IReadOnlyList<string?> prompts, long? firstRow)
    {
        var tokenizer = Generator.Tokenizer!;
        var ids = new IReadOnlyList<int>[prompts.Count];
        // With a sliding window (the default for models trained here) long prompts keep their last tokens in the engine.
        int? context = Model.Config.SlidesContext(Config.Generation) ? null : Model.Config.MaxPositions;
        for (int i = 0; i < prompts.Count; i++)
        {
            string where = $"{(firstRow is long row ? $"in row {row + i} " : "")}of column '{Config.InputColumnName}'";
            IReadOnlyList<int> promptIds;
            try
            {
                promptIds = tokenizer.EncodeToIds(prompts[i] ?? "");
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"GenerateText: the prompt {where} cannot be tokenized by the model's vocabulary: {e.Message}", e);
            }
            if (context is int limit)
            {
                int maxNew = Config.Generation.GetMaxNewTokens(promptIds.Count);
                int room = limit - maxNew;
                if (promptIds.Count > room)
                {
                    if (Config.PromptOverflow == PromptOverflow.Throw || room < 1)
                        throw new ArgumentException(
                            $"GenerateText: the prompt {where} has {promptIds.Count} tokens; with {maxNew} new tokens it exceeds the model's context of {limit} tokens. " +
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
}
