using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>The encoder's feed-forward block: <c>fc</c>, exact (erf) GELU as BERT, <c>proj</c>.</summary>
internal sealed class BertFeedForward : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Linear fc;
    private readonly Linear proj;
    private readonly Dropout dropout;
#pragma warning restore IDE1006

    public BertFeedForward(int embedding, int inner, double dropoutRate, double initStd, double projectionInitStd) : base(nameof(BertFeedForward))
    {
        fc = nn.Linear(embedding, inner);
        proj = nn.Linear(inner, embedding);
        dropout = nn.Dropout(dropoutRate);
        using (torch.no_grad())
        {
            nn.init.normal_(fc.weight!, 0, initStd);
            nn.init.zeros_(fc.bias!);
            nn.init.normal_(proj.weight!, 0, projectionInitStd);
            nn.init.zeros_(proj.bias!);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => dropout.forward(proj.forward(nn.functional.gelu(fc.forward(x))));
}
