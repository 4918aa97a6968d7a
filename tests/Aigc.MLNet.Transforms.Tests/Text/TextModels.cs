using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Transforms.Data;

namespace Aigc.MLNet.Transforms.Tests.Text;

/// <summary>Random-weight GPT-2-shaped model folders written once per test run.</summary>
internal static class TextModels
{
    private static readonly Lazy<string> s_char = new(() => Write("char", Gpt2TokenizerFiles.CharacterLevelFromText(Corpus), 48));

    private static readonly string s_corpus = File.ReadAllText(DatasetPaths.TinyShakespeareFile)[..20_000];
    private static readonly Lazy<string> s_bpe = new(() => Write("bpe", Gpt2TokenizerFiles.Bpe(DatasetPaths.Gpt2VocabFile, DatasetPaths.Gpt2MergesFile), 64));

    /// <summary>Tiny Shakespeare's first 20,000 characters: the char model's vocabulary comes from it.</summary>
    public static string Corpus => s_corpus;

    /// <summary>A char-level model (2 layers, 2 heads, 32 wide, context 48).</summary>
    public static string CharModel => s_char.Value;

    /// <summary>A GPT-2 BPE model (vocabulary 50,257; 1 layer, 2 heads, 16 wide, context 64).</summary>
    public static string BpeModel => s_bpe.Value;

    /// <summary>Prompts: the first lines of the corpus, trimmed to at most 20 characters.</summary>
    public static string[] Prompts(int count) =>
        Corpus.Split('\n').Where(l => l.Length > 0).Take(count).Select(l => l.Length > 20 ? l[..20] : l).ToArray();

    private static string Write(string name, Gpt2TokenizerFiles tokenizer, int context)
    {
        bool bpe = !tokenizer.IsCharacterLevel;
        var config = new Gpt2Config
        {
            NumLayers = bpe ? 1 : 2, NumHeads = 2, EmbeddingSize = bpe ? 16 : 32, MaxPositions = context,
            VocabSize = tokenizer.Count(),
            BosTokenId = bpe ? 50256 : 0, EosTokenId = bpe ? 50256 : 0,
        };
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", "text-models", $"{name}-{Environment.ProcessId}");
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Gpt2Exporter.Export(Gpt2Weights.Random(config, seed: 17), tokenizer, folder);
        return folder;
    }
}
