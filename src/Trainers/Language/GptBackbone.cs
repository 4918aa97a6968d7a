using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>GPT-2's <c>transformer</c> module: token and position embeddings, the blocks <c>h.{i}</c>, the final <c>ln_f</c>.</summary>
internal sealed class GptBackbone : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly Dropout drop;
    private readonly ModuleList<GptBlock> h;
    private readonly LayerNorm ln_f;
#pragma warning restore IDE1006

    public GptBackbone(Aigc.MLNet.Onnx.Gpt2.Gpt2Config config, double dropout) : base(nameof(GptBackbone))
    {
        double std = config.InitializerRange;
        // GPT-2 scales the residual projections by 1/sqrt(2 * n_layer) at initialisation.
        double projectionStd = std / Math.Sqrt(2.0 * config.NumLayers);
        wte = nn.Embedding(config.VocabSize, config.EmbeddingSize);
        wpe = nn.Embedding(config.MaxPositions, config.EmbeddingSize);
        using (torch.no_grad())
        {
            nn.init.normal_(wte.weight!, 0, std);
            nn.init.normal_(wpe.weight!, 0, std);
        }
        drop = nn.Dropout(dropout);
        h = nn.ModuleList(Enumerable.Range(0, config.NumLayers)
            .Select(_ => new GptBlock(config.EmbeddingSize, config.NumHeads, config.MlpSize, config.LayerNormEpsilon, dropout, std, projectionStd))
            .ToArray());
        ln_f = nn.LayerNorm(config.EmbeddingSize, config.LayerNormEpsilon);
        RegisterComponents();
    }

    /// <summary>The token embedding, shared with the language-model head.</summary>
    public Parameter TokenEmbedding => wte.weight!;

    public override Tensor forward(Tensor ids)
    {
        long t = ids.shape[1];
        using var positions = torch.arange(t, dtype: ScalarType.Int64, device: ids.device);
        Tensor x = drop.forward(wte.forward(ids) + wpe.forward(positions));
        foreach (GptBlock block in h)
            x = block.forward(x);
        return ln_f.forward(x);
    }
}
