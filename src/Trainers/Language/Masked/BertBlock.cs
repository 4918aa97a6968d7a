using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>One pre-norm encoder block: x + attn(ln_1(x)), then x + mlp(ln_2(x)); attention is bidirectional.</summary>
internal sealed class BertBlock : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly LayerNorm ln_1;
    private readonly BertSelfAttention attn;
    private readonly LayerNorm ln_2;
    private readonly BertFeedForward mlp;
#pragma warning restore IDE1006

    public BertBlock(int embedding, int heads, int inner, double epsilon, double dropout, double initStd, double projectionInitStd) : base(nameof(BertBlock))
    {
        ln_1 = nn.LayerNorm(embedding, epsilon);
        attn = new BertSelfAttention(embedding, heads, dropout, initStd, projectionInitStd);
        ln_2 = nn.LayerNorm(embedding, epsilon);
        mlp = new BertFeedForward(embedding, inner, dropout, initStd, projectionInitStd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + attn.forward(ln_1.forward(x));
        return x + mlp.forward(ln_2.forward(x));
    }
}
