using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>Appends a one-hot class vector to the features of a conditional model.</summary>
internal static class ClassConditioning
{
    public static Tensor Concat(Tensor features, Tensor? labels, int classCount)
    {
        if (classCount == 0)
        {
            if (labels is not null) throw new ArgumentException("This model is unconditional: pass null labels.", nameof(labels));
            return features;
        }
        if (labels is null) throw new ArgumentNullException(nameof(labels), $"This model is conditional on {classCount} classes: labels are required.");
        var oneHot = nn.functional.one_hot(labels, classCount).to(features.dtype);
        return cat([features, oneHot], 1);
    }
}
