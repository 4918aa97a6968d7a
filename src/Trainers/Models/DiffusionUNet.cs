using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// A small U-Net ε-predictor for 28×28 diffusion: x [b, 784] (model space [-1, 1]), t int64 [b] (+ class int64 [b],
/// where <see cref="ClassCount"/> is the "no class" token of classifier-free guidance) → ε̂ [b, 784].
/// </summary>
/// <remarks>
/// With C = base channels and E = 4C: conv 1→C; res(C→C) @28 → stride-2 conv → res(C→2C) @14 → stride-2 conv →
/// res(2C) ×2 @7 → transposed conv 2C→2C (to 14) ⧺ skip → res(4C→2C) → transposed conv 2C→C (to 28) ⧺ skip →
/// res(2C→C) → GroupNorm → SiLU → conv C→1. Every residual block receives the timestep embedding (plus the class
/// embedding when conditional). GroupNorm uses 8 groups.
/// </remarks>
public sealed class DiffusionUNet : nn.Module<Tensor, Tensor, Tensor?, Tensor>
{
    /// <summary>GroupNorm groups of every normalisation.</summary>
    public const int GroupCount = 8;

    /// <summary>Image side (28).</summary>
    public const int Side = 28;

    private readonly TimestepEmbedding time;
    private readonly Embedding? classes;
    private readonly Conv2d input;
    private readonly DiffusionResidualBlock down0;
    private readonly Conv2d downsample0;
    private readonly DiffusionResidualBlock down1;
    private readonly Conv2d downsample1;
    private readonly DiffusionResidualBlock middle0;
    private readonly DiffusionResidualBlock middle1;
    private readonly ConvTranspose2d upsample1;
    private readonly DiffusionResidualBlock up1;
    private readonly ConvTranspose2d upsample0;
    private readonly DiffusionResidualBlock up0;
    private readonly GroupNorm outputNorm;
    private readonly Conv2d output;

    /// <summary>Creates the U-Net.</summary>
    /// <param name="baseChannels">C, a positive multiple of 8.</param>
    /// <param name="timesteps">T of the noise schedule (size of the timestep table).</param>
    /// <param name="classCount">Classes of a conditional model (0: unconditional).</param>
    public DiffusionUNet(int baseChannels = 32, int timesteps = 1000, int classCount = 0) : base(nameof(DiffusionUNet))
    {
        if (baseChannels <= 0 || baseChannels % GroupCount != 0)
            throw new ArgumentOutOfRangeException(nameof(baseChannels), baseChannels, $"baseChannels must be a positive multiple of {GroupCount}.");
        if (timesteps <= 0) throw new ArgumentOutOfRangeException(nameof(timesteps), timesteps, "timesteps must be positive.");
        if (classCount < 0) throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "classCount must be 0 (unconditional) or positive.");
        BaseChannels = baseChannels;
        Timesteps = timesteps;
        ClassCount = classCount;
        int c = baseChannels, e = 4 * baseChannels;
        EmbeddingSize = e;
        time = new TimestepEmbedding(timesteps, c, e);
        if (classCount > 0) classes = nn.Embedding(classCount + 1, e);
        input = nn.Conv2d(1, c, 3, padding: 1);
        down0 = new DiffusionResidualBlock(c, c, e, GroupCount);
        downsample0 = nn.Conv2d(c, c, 3, stride: 2, padding: 1);
        down1 = new DiffusionResidualBlock(c, 2 * c, e, GroupCount);
        downsample1 = nn.Conv2d(2 * c, 2 * c, 3, stride: 2, padding: 1);
        middle0 = new DiffusionResidualBlock(2 * c, 2 * c, e, GroupCount);
        middle1 = new DiffusionResidualBlock(2 * c, 2 * c, e, GroupCount);
        upsample1 = nn.ConvTranspose2d(2 * c, 2 * c, 4, stride: 2, padding: 1);
        up1 = new DiffusionResidualBlock(4 * c, 2 * c, e, GroupCount);
        upsample0 = nn.ConvTranspose2d(2 * c, c, 4, stride: 2, padding: 1);
        up0 = new DiffusionResidualBlock(2 * c, c, e, GroupCount);
        outputNorm = nn.GroupNorm(GroupCount, c, DiffusionResidualBlock.NormEpsilon);
        output = nn.Conv2d(c, 1, 3, padding: 1);
        RegisterComponents();
        // TorchSharp 0.107's GroupNorm leaves γ/β uninitialised (torch.empty); set PyTorch's defaults explicitly.
        using (no_grad())
            foreach (var module in modules())
                if (module is GroupNorm norm)
                {
                    norm.weight!.fill_(1);
                    norm.bias!.zero_();
                }
    }

    /// <summary>C.</summary>
    public int BaseChannels { get; }

    /// <summary>T.</summary>
    public int Timesteps { get; }

    /// <summary>Classes of a conditional model (0: unconditional); label <see cref="ClassCount"/> means "no class".</summary>
    public int ClassCount { get; }

    /// <summary>Width E of the conditioning embedding (4C).</summary>
    public int EmbeddingSize { get; }

    /// <summary>Pixels per image (784).</summary>
    public int PixelCount => Side * Side;

    /// <summary>Timestep embedding.</summary>
    public TimestepEmbedding Time => time;

    /// <summary>Class embedding (ClassCount + 1 rows, the last one "no class"), or null.</summary>
    public Embedding? Classes => classes;

    /// <summary>Input convolution.</summary>
    public Conv2d Input => input;

    /// <summary>Residual blocks in forward order: down0, down1, middle0, middle1, up1, up0.</summary>
    public IReadOnlyList<DiffusionResidualBlock> Blocks => [down0, down1, middle0, middle1, up1, up0];

    /// <summary>Down-sampling convolutions 28→14 and 14→7.</summary>
    public (Conv2d First, Conv2d Second) Downsamples => (downsample0, downsample1);

    /// <summary>Up-sampling transposed convolutions 7→14 and 14→28.</summary>
    public (ConvTranspose2d First, ConvTranspose2d Second) Upsamples => (upsample1, upsample0);

    /// <summary>Final GroupNorm.</summary>
    public GroupNorm OutputNorm => outputNorm;

    /// <summary>Output convolution.</summary>
    public Conv2d Output => output;

    /// <summary>ε̂ for x [b, 784], t int64 [b] and labels int64 [b] (0..ClassCount) or null for an unconditional model.</summary>
    public override Tensor forward(Tensor x, Tensor timesteps, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        var conditioning = time.forward(timesteps);
        if (classes is not null)
        {
            if (labels is null) throw new ArgumentNullException(nameof(labels), $"This model is conditional on {ClassCount} classes: labels are required (use {ClassCount} for no class).");
            conditioning = conditioning + classes.forward(labels);
        }
        else if (labels is not null)
        {
            throw new ArgumentException("This model is unconditional: pass null labels.", nameof(labels));
        }
        var h = input.forward(x.reshape(-1, 1, Side, Side));
        var skip0 = down0.forward(h, conditioning);
        var skip1 = down1.forward(downsample0.forward(skip0), conditioning);
        h = downsample1.forward(skip1);
        h = middle1.forward(middle0.forward(h, conditioning), conditioning);
        h = up1.forward(cat([upsample1.forward(h), skip1], 1), conditioning);
        h = up0.forward(cat([upsample0.forward(h), skip0], 1), conditioning);
        h = output.forward(nn.functional.silu(outputNorm.forward(h)));
        return h.reshape(-1, PixelCount).MoveToOuterDisposeScope();
    }
}
