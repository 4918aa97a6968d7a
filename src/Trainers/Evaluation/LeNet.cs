using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Evaluation;

/// <summary>Architecture of <see cref="LeNet"/>.</summary>
public sealed class LeNetOptions
{
    /// <summary>Channels of the first 5x5 convolution (default 16).</summary>
    public int Conv1Channels { get; set; } = 16;

    /// <summary>Channels of the second 5x5 convolution (default 32).</summary>
    public int Conv2Channels { get; set; } = 32;

    /// <summary>Units of the hidden fully connected layer, i.e. the feature size used for FID (default 128).</summary>
    public int HiddenUnits { get; set; } = 128;

    /// <summary>Dropout on the hidden features while training (default 0.25; inference uses none).</summary>
    public double Dropout { get; set; } = 0.25;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Conv1Channels < 1) throw new ArgumentException($"LeNetOptions.Conv1Channels must be >= 1, got {Conv1Channels}.", nameof(Conv1Channels));
        if (Conv2Channels < 1) throw new ArgumentException($"LeNetOptions.Conv2Channels must be >= 1, got {Conv2Channels}.", nameof(Conv2Channels));
        if (HiddenUnits < 1) throw new ArgumentException($"LeNetOptions.HiddenUnits must be >= 1, got {HiddenUnits}.", nameof(HiddenUnits));
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) throw new ArgumentException($"LeNetOptions.Dropout must be in [0, 1), got {Dropout}.", nameof(Dropout));
    }

    /// <summary>Returns a copy.</summary>
    public LeNetOptions Clone() => (LeNetOptions)MemberwiseClone();
}

/// <summary>
/// LeNet-style MNIST classifier: conv5x5 → ReLU → maxpool2 → conv5x5 → ReLU → maxpool2 → linear → ReLU (features)
/// → linear (10 logits). Input [N, 1, 28, 28] in [0, 1].
/// </summary>
public sealed class LeNet : nn.Module<Tensor, Tensor>
{
    /// <summary>Side of the input images.</summary>
    public const int ImageSide = 28;

    /// <summary>Number of classes (digits).</summary>
    public const int ClassCount = 10;

    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly double _dropout;

    /// <summary>Creates a randomly initialised network (seed with <c>torch.manual_seed</c> first for reproducibility).</summary>
    /// <param name="options">Architecture.</param>
    public LeNet(LeNetOptions? options = null) : base(nameof(LeNet))
    {
        Options = options?.Clone() ?? new LeNetOptions();
        Options.Validate();
        conv1 = nn.Conv2d(1, Options.Conv1Channels, 5);
        conv2 = nn.Conv2d(Options.Conv1Channels, Options.Conv2Channels, 5);
        fc1 = nn.Linear(Options.Conv2Channels * 4 * 4, Options.HiddenUnits);
        fc2 = nn.Linear(Options.HiddenUnits, ClassCount);
        _dropout = Options.Dropout;
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public LeNetOptions Options { get; }

    /// <summary>Class logits [N, 10].</summary>
    /// <param name="input">Images [N, 1, 28, 28].</param>
    public override Tensor forward(Tensor input)
    {
        using var features = Features(input);
        using var dropped = nn.functional.dropout(features, _dropout, training);
        return fc2.forward(dropped);
    }

    /// <summary>Penultimate features [N, HiddenUnits] (after the ReLU), the space used for FID.</summary>
    /// <param name="input">Images [N, 1, 28, 28].</param>
    public Tensor Features(Tensor input)
    {
        using var c1 = conv1.forward(input);
        using var r1 = nn.functional.relu(c1);
        using var p1 = nn.functional.max_pool2d(r1, 2);
        using var c2 = conv2.forward(p1);
        using var r2 = nn.functional.relu(c2);
        using var p2 = nn.functional.max_pool2d(r2, 2);
        using var flat = p2.flatten(1);
        using var h = fc1.forward(flat);
        return nn.functional.relu(h);
    }

    internal (Conv2d Conv1, Conv2d Conv2, Linear Fc1, Linear Fc2) Layers => (conv1, conv2, fc1, fc2);
}
