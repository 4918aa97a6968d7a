using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>GPT-2's feed-forward block: <c>mlp.c_fc</c> (4x wider), GELU (tanh approximation), <c>mlp.c_proj</c>.</summary>
internal sealed class GptMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Conv1D c_fc;
    private readonly Conv1D c_proj;
    private readonly Dropout dropout;
#pragma warning restore IDE1006

    public GptMlp(int embedding, int inner, double dropoutRate, double initStd, double projectionInitStd) : base(nameof(GptMlp))
    {
        c_fc = new Conv1D(embedding, inner, initStd);
        c_proj = new Conv1D(inner, embedding, projectionInitStd);
        dropout = nn.Dropout(dropoutRate);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
        => dropout.forward(c_proj.forward(nn.functional.gelu(c_fc.forward(x), TorchSharp.Modules.GELU.Approximate.tanh)));
}
