using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>Bidirectional multi-head self-attention (every position attends to every position) with a fused query/key/value projection.</summary>
internal sealed class BertSelfAttention : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the parameter names the exporter reads
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly Dropout resid_dropout;
#pragma warning restore IDE1006
    private readonly int _heads;
    private readonly double _attentionDropout;

    public BertSelfAttention(int embedding, int heads, double dropout, double initStd, double projectionInitStd) : base(nameof(BertSelfAttention))
    {
        _heads = heads;
        _attentionDropout = dropout;
        qkv = nn.Linear(embedding, 3 * embedding);
        proj = nn.Linear(embedding, embedding);
        resid_dropout = nn.Dropout(dropout);
        using (torch.no_grad())
        {
            nn.init.normal_(qkv.weight!, 0, initStd);
            nn.init.zeros_(qkv.bias!);
            nn.init.normal_(proj.weight!, 0, projectionInitStd);
            nn.init.zeros_(proj.bias!);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2];
        long headSize = c / _heads;
        Tensor[] parts = qkv.forward(x).split(c, dim: 2);
        Tensor q = parts[0].view(b, t, _heads, headSize).transpose(1, 2);
        Tensor k = parts[1].view(b, t, _heads, headSize).transpose(1, 2);
        Tensor v = parts[2].view(b, t, _heads, headSize).transpose(1, 2);
        Tensor y = nn.functional.scaled_dot_product_attention(q, k, v, null, training ? _attentionDropout : 0.0, false);
        y = y.transpose(1, 2).contiguous().view(b, t, c);
        return resid_dropout.forward(proj.forward(y));
    }
}
