using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Serving;

/// <summary>The served model, its continuous-batching scheduler and the server's counters; one per server.</summary>
internal sealed class ModelService : IDisposable
{
    public ModelService(OpenAIServerOptions options)
    {
        Options = options;
        Model = CausalLM.Load(options.ModelPath, new CausalLMOptions { IntraOpNumThreads = options.IntraOpNumThreads });
        try
        {
            Tokenizer = Model.Tokenizer ?? throw new InvalidDataException(
                $"'{options.ModelPath}' has no tokenizer files (vocab.json, plus merges.txt for GPT-2 BPE); the server needs them to read prompts and write text.");
            Scheduler = new ContinuousBatchScheduler(Model, new ContinuousBatchOptions { MaxBatchSize = options.MaxBatchSize, MaxQueueLength = options.MaxQueueLength });
        }
        catch
        {
            Model.Dispose();
            throw;
        }
        ModelId = options.ModelId ?? DefaultModelId(Model.ModelFolder ?? options.ModelPath);
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    public OpenAIServerOptions Options { get; }
    public CausalLM Model { get; }
    public Tokenizer Tokenizer { get; }
    public ContinuousBatchScheduler Scheduler { get; }
    public ServingMetrics Metrics { get; } = new();

    /// <summary>The id clients send as <c>model</c>.</summary>
    public string ModelId { get; }

    /// <summary>Unix time the server loaded the model (the <c>created</c> of <c>GET /v1/models</c>).</summary>
    public long Created { get; }

    /// <summary>The model's context (n_positions), or null when the folder does not say.</summary>
    public int? ContextLength => Model.Config.MaxPositions;

    /// <summary>True once a graceful shutdown has begun: readiness fails and new generation requests get 503.</summary>
    public bool Draining
    {
        get => Volatile.Read(ref _draining);
        set => Volatile.Write(ref _draining, value);
    }

    private bool _draining;

    /// <summary>The folder's name, or its parent's for a folder named <c>onnx</c> (the exporter's layout).</summary>
    public static string DefaultModelId(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (File.Exists(full)) full = Path.GetDirectoryName(full)!;
        string name = Path.GetFileName(full);
        if (string.Equals(name, "onnx", StringComparison.OrdinalIgnoreCase) && Path.GetDirectoryName(full) is { } parent && Path.GetFileName(parent) is { Length: > 0 } p)
            name = p;
        return name.Length > 0 ? name : "model";
    }

    public void Dispose()
    {
        Scheduler.Dispose();
        Model.Dispose();
    }
}
