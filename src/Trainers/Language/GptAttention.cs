using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>Causal multi-head self-attention with GPT-2's fused query/key/value projection (<c>attn.c_attn</c>, <c>attn.c_proj</c>).</summary>
internal sealed class GptAttention : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Conv1D c_attn;
    private readonly Conv1D c_proj;
    private readonly Dropout resid_dropout;
#pragma warning restore IDE1006
    private readonly int _heads;
    private readonly double _attentionDropout;

    public GptAttention(int embedding, int heads, double dropout, double initStd, double projectionInitStd) : base(nameof(GptAttention))
    {
        _heads = heads;
        _attentionDropout = dropout;
        c_attn = new Conv1D(embedding, 3 * embedding, initStd);
        c_proj = new Conv1D(embedding, embedding, projectionInitStd);
        resid_dropout = nn.Dropout(dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2];
        long headSize = c / _heads;
        Tensor[] qkv = c_attn.forward(x).split(c, dim: 2);
        Tensor q = qkv[0].view(b, t, _heads, headSize).transpose(1, 2);
        Tensor k = qkv[1].view(b, t, _heads, headSize).transpose(1, 2);
        Tensor v = qkv[2].view(b, t, _heads, headSize).transpose(1, 2);
        Tensor y = nn.functional.scaled_dot_product_attention(q, k, v, null, training ? _attentionDropout : 0.0, true);
        y = y.transpose(1, 2).contiguous().view(b, t, c);
        return resid_dropout.forward(c_proj.forward(y));
    }
}
