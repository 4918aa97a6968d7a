using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>
/// GPT-2's "Conv1D": an affine map whose weight is stored [in, out] (the transpose of nn.Linear), so that Hugging Face
/// GPT-2 checkpoints load without transposing and export straight into the ONNX graph builder.
/// </summary>
internal sealed class Conv1D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the checkpoint's parameter names
    private readonly TorchSharp.Modules.Parameter weight;
    private readonly TorchSharp.Modules.Parameter bias;
#pragma warning restore IDE1006

    public Conv1D(int inFeatures, int outFeatures, double initStd) : base(nameof(Conv1D))
    {
        weight = nn.Parameter(torch.empty(inFeatures, outFeatures));
        bias = nn.Parameter(torch.zeros(outFeatures));
        using (torch.no_grad())
            nn.init.normal_(weight, 0, initStd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => torch.matmul(x, weight).add_(bias);
}
