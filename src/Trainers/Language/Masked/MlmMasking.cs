using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>The masked-language-modelling corruption (BERT): choose positions, replace most with the mask token, some with a random token, keep the rest.</summary>
/// <remarks>The trainer cuts its windows from one continuous token stream, so no position is padding and every position is eligible.</remarks>
/// <param name="MaskTokenId">Id of the mask token.</param>
/// <param name="RandomVocabularySize">Random replacements are drawn uniformly from ids [0, this) (the base vocabulary, without the mask).</param>
/// <param name="ChooseProbability">Probability that a position is chosen (scored); BERT: 0.15.</param>
/// <param name="MaskFraction">Of the chosen positions, the fraction replaced by the mask token; BERT: 0.8.</param>
/// <param name="RandomFraction">Of the chosen positions, the fraction replaced by a random token; BERT: 0.1 (the rest stay unchanged).</param>
public sealed record MlmMasking(int MaskTokenId, int RandomVocabularySize, double ChooseProbability = 0.15, double MaskFraction = 0.8, double RandomFraction = 0.1)
{
    /// <summary>Throws naming the first invalid value.</summary>
    public void Validate()
    {
        if (RandomVocabularySize < 1)
            throw new ArgumentOutOfRangeException(nameof(RandomVocabularySize), RandomVocabularySize, "RandomVocabularySize must be at least 1.");
        if (ChooseProbability is <= 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(ChooseProbability), ChooseProbability, "The masking probability must be in (0, 1].");
        if (MaskFraction is < 0 or > 1 || RandomFraction is < 0 or > 1 || MaskFraction + RandomFraction > 1)
            throw new ArgumentOutOfRangeException(nameof(MaskFraction), $"MaskFraction ({MaskFraction}) and RandomFraction ({RandomFraction}) must be in [0, 1] and sum to at most 1.");
    }

    /// <summary>
    /// Corrupts <paramref name="ids"/>: each position is chosen with <see cref="ChooseProbability"/>; a chosen position becomes the
    /// mask (<see cref="MaskFraction"/>), a uniform random token (<see cref="RandomFraction"/>) or stays. Labels hold the original
    /// token at chosen positions and <see cref="MaskedLanguageModel.IgnoreIndex"/> elsewhere. When nothing was chosen, position
    /// [0, 0] is chosen and masked so that every batch has a loss.
    /// </summary>
    /// <param name="ids">Int64 token ids [batch, time].</param>
    /// <param name="generator">The random stream (seeded per step for exact resume).</param>
    public (Tensor Inputs, Tensor Labels) Apply(Tensor ids, torch.Generator generator)
    {
        ArgumentNullException.ThrowIfNull(ids);
        long[] shape = ids.shape;
        using var choose = torch.rand(shape, generator: generator, device: ids.device);
        using var how = torch.rand(shape, generator: generator, device: ids.device);
        using var random = torch.randint(RandomVocabularySize, shape, generator: generator, dtype: ScalarType.Int64, device: ids.device);
        using var chosen = choose.lt(ChooseProbability);
        if (!chosen.any().item<bool>())
            chosen.view(-1)[0] = true;
        using var toMask = chosen.logical_and(how.lt(MaskFraction));
        using var toRandom = chosen.logical_and(how.ge(MaskFraction)).logical_and(how.lt(MaskFraction + RandomFraction));
        using var masked = ids.masked_fill(toMask, MaskTokenId);
        var inputs = torch.where(toRandom, random, masked);
        var labels = ids.masked_fill(chosen.logical_not(), MaskedLanguageModel.IgnoreIndex);
        return (inputs, labels);
    }
}
