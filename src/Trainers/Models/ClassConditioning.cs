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

    /// <summary>
    /// Appends the one-hot class of each row to image maps [batch, channels, height, width] as <paramref name="classCount"/>
    /// constant planes (a conditional discriminator then sees image and class together from its first layer); returns the
    /// maps unchanged for an unconditional model.
    /// </summary>
    /// <param name="maps">Image maps [batch, channels, height, width].</param>
    /// <param name="labels">Int64 classes [batch], or null for an unconditional model.</param>
    /// <param name="classCount">Classes (0: unconditional).</param>
    public static Tensor ConcatPlanes(Tensor maps, Tensor? labels, int classCount)
    {
        if (classCount == 0)
        {
            if (labels is not null) throw new ArgumentException("This model is unconditional: pass null labels.", nameof(labels));
            return maps;
        }
        if (labels is null) throw new ArgumentNullException(nameof(labels), $"This model is conditional on {classCount} classes: labels are required.");
        var planes = nn.functional.one_hot(labels, classCount).to(maps.dtype).reshape(-1, classCount, 1, 1).expand(-1, -1, maps.shape[2], maps.shape[3]);
        return cat([maps, planes], 1);
    }
}
