using Aigc.MLNet.Onnx.Gpt2;

namespace Aigc.MLNet.Cli.Tests;

internal static class TinyModels
{
    public const string Alphabet = "abcdefgh \n";

    /// <summary>A random 1-layer GPT over a 10-character vocabulary (+1 EOS id), exported as an Optimum ONNX folder.</summary>
    public static Gpt2Config CharGpt(string folder, int seed = 3)
    {
        var chars = Gpt2TokenizerFiles.CharacterLevel(Alphabet.Select(c => c.ToString()));
        var config = new Gpt2Config { NumLayers = 1, NumHeads = 2, EmbeddingSize = 8, MaxPositions = 64, VocabSize = Alphabet.Length + 1, BosTokenId = Alphabet.Length, EosTokenId = Alphabet.Length };
        Gpt2Exporter.Export(Gpt2Weights.Random(config, seed), chars, folder);
        return config;
    }
}
