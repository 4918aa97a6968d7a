using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>
/// A decoder-only language model (GPT-2 and alike) exported to ONNX, loaded once and shared: one instance may serve
/// many threads at once (each generation call keeps its own cache and buffers).
/// </summary>
public sealed class CausalLM : IDisposable
{
    private static readonly string[] FolderCandidates =
    [
        "onnx/model.onnx", "model.onnx",
        "onnx/decoder_model_merged.onnx", "decoder_model_merged.onnx",
        "onnx/decoder_model.onnx", "decoder_model.onnx",
    ];

    private readonly SessionOptions _sessionOptions;
    private bool _disposed;

    private CausalLM(InferenceSession session, SessionOptions sessionOptions, DecoderSignature signature, CausalLMConfig config,
        string modelPath, string? folder, ExecutionProvider provider, int deviceId, Tokenizer? tokenizer)
    {
        Tokenizer = tokenizer;
        HostAllocator = new OrtAllocator(session, OrtMemoryInfo.DefaultInstance);
        if (provider == ExecutionProvider.Cuda)
            DeviceCacheMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.Default);
        Session = session;
        _sessionOptions = sessionOptions;
        Signature = signature;
        Config = config;
        ModelPath = modelPath;
        ModelFolder = folder;
        ExecutionProvider = provider;
    }

    /// <summary>The .onnx file the session was created from.</summary>
    public string ModelPath { get; }

    /// <summary>The folder the configuration and tokenizer files were read from, or null.</summary>
    public string? ModelFolder { get; }

    /// <summary>The tokenizer found beside the model (vocab.json + merges.txt for GPT-2 BPE, or a character vocab.json), or null.</summary>
    public Tokenizer? Tokenizer { get; }

    /// <summary>The input/output convention detected from the session's metadata.</summary>
    public DecoderLayout Layout => Signature.Layout;

    /// <summary>Special tokens and sizes read from the folder's JSON files, completed from the model's metadata.</summary>
    public CausalLMConfig Config { get; }

    /// <summary>The execution provider actually in use (CPU after a permitted fallback).</summary>
    public ExecutionProvider ExecutionProvider { get; }

    /// <summary>Number of transformer layers with a cache (0 for <see cref="DecoderLayout.NoCache"/>).</summary>
    public int LayerCount => Signature.LayerCount;

    /// <summary>The session's input names, in model order.</summary>
    public IReadOnlyList<string> InputNames => Session.InputNames;

    /// <summary>The session's output names, in model order.</summary>
    public IReadOnlyList<string> OutputNames => Session.OutputNames;

    internal InferenceSession Session { get; }

    internal DecoderSignature Signature { get; }

    /// <summary>The session's host (arena) allocator, reused for tensors the runner creates itself (beam reorders).</summary>
    internal OrtAllocator HostAllocator { get; }

    /// <summary>Where decode steps keep the cache on a GPU provider (so it never crosses to the host), or null on CPU.</summary>
    internal OrtMemoryInfo? DeviceCacheMemory { get; }

    /// <summary>The .onnx file <see cref="Load"/> would open for <paramref name="path"/> (a model folder or an .onnx file).</summary>
    /// <param name="path">A model folder or an .onnx file.</param>
    public static string ResolveModelFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
            return FindModelFile(Path.GetFullPath(path));
        if (File.Exists(path))
            return Path.GetFullPath(path);
        throw new FileNotFoundException($"Model path '{path}' does not exist (expected a model folder or an .onnx file).", path);
    }

    /// <summary>
    /// Loads a model folder (onnx/model.onnx, model.onnx, decoder_model_merged.onnx, or the file named by genai_config.json)
    /// or a single .onnx file (configuration then read from its folder, or the parent of an <c>onnx/</c> folder).
    /// </summary>
    /// <param name="path">A model folder or an .onnx file.</param>
    /// <param name="options">Session options; null for CPU defaults.</param>
    public static CausalLM Load(string path, CausalLMOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new CausalLMOptions();
        options.Validate();

        string modelFile;
        string? folder;
        if (Directory.Exists(path))
        {
            folder = Path.GetFullPath(path);
            modelFile = FindModelFile(folder);
        }
        else if (File.Exists(path))
        {
            modelFile = Path.GetFullPath(path);
            folder = Path.GetDirectoryName(modelFile);
            if (folder is not null && !File.Exists(Path.Combine(folder, "config.json"))
                && string.Equals(Path.GetFileName(folder), "onnx", StringComparison.OrdinalIgnoreCase)
                && Path.GetDirectoryName(folder) is { } parent && File.Exists(Path.Combine(parent, "config.json")))
                folder = parent;
        }
        else
        {
            throw new FileNotFoundException($"Model path '{path}' does not exist (expected a model folder or an .onnx file).", path);
        }

        var config = folder is null ? new CausalLMConfig() : CausalLMConfig.Load(folder);
        CheckPositions(config, modelFile);
        var (sessionOptions, provider) = CreateSessionOptions(options);
        InferenceSession session;
        try
        {
            session = new InferenceSession(modelFile, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            sessionOptions.Dispose();
            throw new InvalidDataException($"'{modelFile}' could not be loaded as an ONNX model: {e.Message}", e);
        }

        try
        {
            var signature = DecoderSignature.Detect(session, modelFile);
            config = Complete(config, signature);
            var tokenizer = options.LoadTokenizer && folder is not null ? LoadTokenizer(folder) : null;
            return new CausalLM(session, sessionOptions, signature, config, modelFile, folder, provider, options.DeviceId, tokenizer);
        }
        catch
        {
            session.Dispose();
            sessionOptions.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the whole sequence once without a cache and returns its logits, row-major [tokenIds.Length, vocab]:
    /// row t scores the token after position t.
    /// </summary>
    /// <param name="tokenIds">The sequence (at most n_positions ids inside the vocabulary).</param>
    /// <param name="cancellationToken">Cancels the forward pass.</param>
    public float[] ComputeLogits(IReadOnlyList<int> tokenIds, CancellationToken cancellationToken = default)
    {
        CheckSequence(tokenIds, 1);
        using var run = new DecoderSession(this, 1, tokenIds.Count + 1, cancellationToken);
        return run.PrefillAllLogits(tokenIds);
    }

    /// <summary>
    /// Log-probability of each token given the ones before it, in one forward pass: element t is
    /// log p(tokenIds[t + 1] | tokenIds[0..t]), so the result has tokenIds.Length - 1 entries (perplexity = exp(-mean)).
    /// </summary>
    /// <param name="tokenIds">The sequence: at least 2 ids, at most n_positions.</param>
    /// <param name="cancellationToken">Cancels the forward pass.</param>
    public float[] ComputeTokenLogProbs(IReadOnlyList<int> tokenIds, CancellationToken cancellationToken = default)
    {
        CheckSequence(tokenIds, 2);
        float[] logits = ComputeLogits(tokenIds, cancellationToken);
        int v = logits.Length / tokenIds.Count;
        var result = new float[tokenIds.Count - 1];
        for (int t = 0; t + 1 < tokenIds.Count; t++)
        {
            var row = logits.AsSpan(t * v, v);
            float max = float.NegativeInfinity;
            foreach (float x in row) max = Math.Max(max, x);
            double sum = 0;
            foreach (float x in row) sum += Math.Exp(x - max);
            result[t] = (float)(row[tokenIds[t + 1]] - max - Math.Log(sum));
        }
        return result;
    }

    private void CheckSequence(IReadOnlyList<int> tokenIds, int minimum)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        ThrowIfDisposed();
        if (tokenIds.Count < minimum)
            throw new ArgumentException($"tokenIds must hold at least {minimum} token(s), found {tokenIds.Count}.", nameof(tokenIds));
        if (Config.MaxPositions is int limit && tokenIds.Count > limit)
            throw new ArgumentException($"tokenIds holds {tokenIds.Count} tokens; the model accepts at most {limit} positions (n_positions).", nameof(tokenIds));
        for (int i = 0; i < tokenIds.Count; i++)
            if (tokenIds[i] < 0 || (Config.VocabSize > 0 && tokenIds[i] >= Config.VocabSize))
                throw new ArgumentOutOfRangeException(nameof(tokenIds), tokenIds[i], $"Token {i} ({tokenIds[i]}) is outside the vocabulary [0, {Config.VocabSize}).");
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static Tokenizer? LoadTokenizer(string folder)
    {
        // vocab.json (+ merges.txt for byte-level BPE) is what the exporter and Hugging Face GPT-2 folders carry.
        return File.Exists(Path.Combine(folder, AutoTokenizer.VocabFileName)) ? AutoTokenizer.FromFolder(folder) : null;
    }

    private static string FindModelFile(string folder)
    {
        var searched = new List<string>();
        if (CausalLMConfig.ReadGenAiDecoderFile(folder) is { } genai)
        {
            string candidate = Path.Combine(folder, genai);
            if (File.Exists(candidate)) return candidate;
            searched.Add(genai + " (from genai_config.json)");
        }
        foreach (var name in FolderCandidates)
        {
            string candidate = Path.Combine(folder, name);
            if (File.Exists(candidate)) return candidate;
            searched.Add(name);
        }
        var any = Directory.EnumerateFiles(folder, "*.onnx").Concat(
            Directory.Exists(Path.Combine(folder, "onnx")) ? Directory.EnumerateFiles(Path.Combine(folder, "onnx"), "*.onnx") : []).ToList();
        if (any.Count == 1) return any[0];
        if (any.Count > 1)
            throw new FileNotFoundException($"Model folder '{folder}' holds several .onnx files ({string.Join(", ", any.Select(Path.GetFileName))}) and none of the known names ({string.Join(", ", searched)}); pass the file path instead.", folder);
        throw new FileNotFoundException($"Model folder '{folder}' holds no ONNX model (looked for {string.Join(", ", searched)}).", folder);
    }

    private static (SessionOptions, ExecutionProvider) CreateSessionOptions(CausalLMOptions options)
    {
        OnnxRuntimeNative.EnsureAvailable();
        var so = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpNumThreads,
            GraphOptimizationLevel = options.GraphOptimizationLevel,
        };
        var provider = ExecutionProvider.Cpu;
        if (options.ExecutionProvider == ExecutionProvider.Cuda)
        {
            string[] available = OrtEnv.Instance().GetAvailableProviders();
            string? failure = null;
            if (!available.Contains("CUDAExecutionProvider"))
                failure = $"The CUDA execution provider is not in this ONNX Runtime build (available: {string.Join(", ", available)}). Build with -p:AigcGpu=true to use the GPU package";
            else
            {
                try
                {
                    so.AppendExecutionProvider_CUDA(options.DeviceId);
                    provider = ExecutionProvider.Cuda;
                }
                catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
                {
                    failure = $"The CUDA execution provider could not start on device {options.DeviceId}: {e.Message}";
                }
            }
            if (failure is not null && !options.AllowCpuFallback)
            {
                so.Dispose();
                throw new NotSupportedException(failure + ", or set CausalLMOptions.AllowCpuFallback to run on CPU.");
            }
        }
        return (so, provider);
    }

    /// <summary>
    /// Fails when the configuration promises more positions than the graph's position table has: generation would
    /// otherwise stop inside ONNX Runtime with a Gather index error once the sequence passes the table.
    /// </summary>
    private static void CheckPositions(CausalLMConfig config, string modelFile)
    {
        if (config.MaxPositions is not int declared) return;
        if (PositionEmbeddingProbe.ReadRowCount(modelFile) is int rows && declared > rows)
            throw new InvalidDataException(
                $"{config.MaxPositionsSource ?? "The configuration"} is {declared}, but the graph in '{modelFile}' has a position table of {rows} rows, " +
                $"so it accepts {rows} positions; set it to {rows} (or use the configuration exported with the model).");
    }

    private static CausalLMConfig Complete(CausalLMConfig config, DecoderSignature signature) => new()
    {
        EosTokenIds = config.EosTokenIds,
        BosTokenId = config.BosTokenId,
        PadTokenId = config.PadTokenId,
        MaxPositions = config.MaxPositions,
        MaxPositionsSource = config.MaxPositionsSource,
        VocabSize = config.VocabSize > 0 ? config.VocabSize : signature.VocabSize,
        NumLayers = config.NumLayers > 0 ? config.NumLayers : signature.LayerCount,
        NumHeads = config.NumHeads > 0 ? config.NumHeads : signature.HeadCount,
        HiddenSize = config.HiddenSize > 0 ? config.HiddenSize : signature.HeadCount * signature.HeadSize,
        DefaultMaxLength = config.DefaultMaxLength,
        DefaultContextOverflow = config.DefaultContextOverflow,
    };

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        HostAllocator.Dispose();
        Session.Dispose();
        _sessionOptions.Dispose();
        DeviceCacheMemory?.Dispose();
    }
}
