using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// Residual block of the diffusion U-Net with time conditioning: GroupNorm → SiLU → Conv3×3, plus a projection of the
/// (time + class) embedding added per channel, then GroupNorm → SiLU → Conv3×3, plus the input (1×1 conv when the
/// channel count changes).
/// </summary>
public sealed class DiffusionResidualBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear embedding;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? skip;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="embeddingSize">Width of the conditioning embedding.</param>
    /// <param name="groups">GroupNorm groups (divides both channel counts).</param>
    public DiffusionResidualBlock(int inChannels, int outChannels, int embeddingSize, int groups) : base(nameof(DiffusionResidualBlock))
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        Groups = groups;
        norm1 = nn.GroupNorm(groups, inChannels, NormEpsilon);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        embedding = nn.Linear(embeddingSize, outChannels);
        norm2 = nn.GroupNorm(groups, outChannels, NormEpsilon);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) skip = nn.Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <summary>GroupNorm ε.</summary>
    public const double NormEpsilon = 1e-5;

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>GroupNorm groups.</summary>
    public int Groups { get; }

    /// <summary>First GroupNorm.</summary>
    public GroupNorm Norm1 => norm1;

    /// <summary>First convolution.</summary>
    public Conv2d Conv1 => conv1;

    /// <summary>Projection of the conditioning embedding to one shift per channel.</summary>
    public Linear Embedding => embedding;

    /// <summary>Second GroupNorm.</summary>
    public GroupNorm Norm2 => norm2;

    /// <summary>Second convolution.</summary>
    public Conv2d Conv2 => conv2;

    /// <summary>1×1 convolution of the shortcut, or null when the channel count is unchanged.</summary>
    public Conv2d? Skip => skip;

    /// <summary>x [b, in, h, w], embedding [b, E] → [b, out, h, w].</summary>
    public override Tensor forward(Tensor x, Tensor conditioning)
    {
        using var scope = NewDisposeScope();
        var h = conv1.forward(nn.functional.silu(norm1.forward(x)));
        h = h + embedding.forward(nn.functional.silu(conditioning)).reshape(-1, OutChannels, 1, 1);
        h = conv2.forward(nn.functional.silu(norm2.forward(h)));
        return (h + (skip is null ? x : skip.forward(x))).MoveToOuterDisposeScope();
    }
}
