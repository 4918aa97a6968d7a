using Aigc.MLNet.Onnx.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>
/// A BERT-style encoder for masked language modelling: token + learned position embeddings, pre-norm transformer blocks
/// with bidirectional attention, a final layer norm and an LM head tied to the token embedding (plus an output bias).
/// </summary>
/// <remarks>Parameter names: <c>tok_emb.weight</c>, <c>pos_emb.weight</c>, <c>blocks.{i}.ln_1.*</c>, <c>blocks.{i}.attn.qkv.*</c>,
/// <c>blocks.{i}.attn.proj.*</c>, <c>blocks.{i}.ln_2.*</c>, <c>blocks.{i}.mlp.fc.*</c>, <c>blocks.{i}.mlp.proj.*</c>, <c>ln_f.*</c>, <c>head_bias</c>.</remarks>
public sealed class MaskedLanguageModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Label value of positions that are not scored.</summary>
    public const long IgnoreIndex = -100;

#pragma warning disable IDE1006
    private readonly Embedding tok_emb;
    private readonly Embedding pos_emb;
    private readonly Dropout drop;
    private readonly ModuleList<BertBlock> blocks;
    private readonly LayerNorm ln_f;
    private readonly Parameter head_bias;
#pragma warning restore IDE1006

    /// <summary>Creates a model initialised as BERT/GPT-2 (normal, std 0.02; residual projections scaled by 1/√(2·layers)).</summary>
    /// <param name="config">Sizes (vocab_size including the mask token, max_position_embeddings, layers, heads, width, feed-forward width).</param>
    /// <param name="dropout">Dropout on embeddings, attention weights and residual branches while training.</param>
    public MaskedLanguageModel(MaskedLMConfig config, double dropout = 0.0) : base(nameof(MaskedLanguageModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate("MaskedLanguageModel config");
        if (dropout is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "dropout must be in [0, 1).");
        Config = config;
        const double std = 0.02;
        double projectionStd = std / Math.Sqrt(2.0 * config.NumLayers);
        tok_emb = nn.Embedding(config.VocabSize, config.EmbeddingSize);
        pos_emb = nn.Embedding(config.MaxPositions, config.EmbeddingSize);
        using (torch.no_grad())
        {
            nn.init.normal_(tok_emb.weight!, 0, std);
            nn.init.normal_(pos_emb.weight!, 0, std);
        }
        drop = nn.Dropout(dropout);
        blocks = nn.ModuleList(Enumerable.Range(0, config.NumLayers)
            .Select(_ => new BertBlock(config.EmbeddingSize, config.NumHeads, config.MlpSize, config.LayerNormEpsilon, dropout, std, projectionStd))
            .ToArray());
        ln_f = nn.LayerNorm(config.EmbeddingSize, config.LayerNormEpsilon);
        head_bias = nn.Parameter(torch.zeros(config.VocabSize));
        RegisterComponents();
    }

    /// <summary>The architecture and vocabulary.</summary>
    public MaskedLMConfig Config { get; }

    /// <summary>Architecture and sizes, recorded in checkpoints (e.g. "MaskedLM:L2:H2:E64:M256:P64:V66").</summary>
    public string Architecture => $"MaskedLM:L{Config.NumLayers}:H{Config.NumHeads}:E{Config.EmbeddingSize}:M{Config.MlpSize}:P{Config.MaxPositions}:V{Config.VocabSize}";

    /// <summary>Logits [batch, time, vocab] for token ids [batch, time] (time ≤ max_position_embeddings).</summary>
    /// <param name="ids">Int64 token ids.</param>
    public override Tensor forward(Tensor ids)
    {
        if (ids.dim() != 2)
            throw new ArgumentException($"MaskedLanguageModel expects token ids of shape [batch, time]; got [{string.Join(", ", ids.shape)}].", nameof(ids));
        if (ids.shape[1] > Config.MaxPositions)
            throw new ArgumentException($"The sequence has {ids.shape[1]} tokens; the model's context (max_position_embeddings) is {Config.MaxPositions}.", nameof(ids));
        using var positions = torch.arange(ids.shape[1], dtype: ScalarType.Int64, device: ids.device);
        Tensor x = drop.forward(tok_emb.forward(ids) + pos_emb.forward(positions));
        foreach (BertBlock block in blocks)
            x = block.forward(x);
        x = ln_f.forward(x);
        return torch.matmul(x, tok_emb.weight!.t()) + head_bias;
    }

    /// <summary>Mean cross-entropy over the scored positions: <paramref name="labels"/> holds the original token where a position was chosen, <see cref="IgnoreIndex"/> elsewhere.</summary>
    /// <param name="inputs">Corrupted token ids [batch, time].</param>
    /// <param name="labels">Targets [batch, time].</param>
    public Tensor Loss(Tensor inputs, Tensor labels)
    {
        using Tensor logits = forward(inputs);
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), labels.view(-1), ignore_index: IgnoreIndex);
    }

    /// <summary>Parameters by name, copied to float32 arrays on the CPU (for export).</summary>
    public IReadOnlyDictionary<string, (float[] Data, long[] Shape)> ExportParameters()
    {
        var result = new Dictionary<string, (float[], long[])>(StringComparer.Ordinal);
        foreach (var (name, p) in named_parameters())
        {
            using var cpu = p.detach().cpu().to_type(ScalarType.Float32).contiguous();
            result[name] = (cpu.data<float>().ToArray(), cpu.shape);
        }
        return result;
    }
}
