using System.Collections.Concurrent;
using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tests.Tokenization;

/// <summary>Locates the read-only test data (AIGC_DATA_DIR, else $XDG_CACHE_HOME/aigc-mlnet, else ~/.cache/aigc-mlnet) and caches loaded tokenizers.</summary>
internal static class TokenizationTestData
{
    private static readonly ConcurrentDictionary<string, Lazy<BpeTokenizer>> s_gpt2 = new();

    public static string DataDirectory
    {
        get
        {
            string? dir = Environment.GetEnvironmentVariable("AIGC_DATA_DIR");
            if (!string.IsNullOrEmpty(dir))
                return dir;
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg))
                return Path.Combine(xdg, "aigc-mlnet");
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "aigc-mlnet");
        }
    }

    public static string RequireFile(params string[] relative)
    {
        string path = Path.Combine([DataDirectory, .. relative]);
        if (!File.Exists(path))
            Assert.Inconclusive($"Test data '{path}' is missing; run the data fetch script or set AIGC_DATA_DIR.");
        return path;
    }

    public static string Gpt2VocabPath => RequireFile("gpt2", "vocab.json");

    public static string Gpt2MergesPath => RequireFile("gpt2", "merges.txt");

    public static string TinyShakespearePath => RequireFile("tinyshakespeare", "input.txt");

    /// <summary>The GPT-2 tokenizer, loaded once per path pair for the whole test run.</summary>
    public static BpeTokenizer Gpt2
    {
        get
        {
            string vocab = Gpt2VocabPath, merges = Gpt2MergesPath;
            return s_gpt2.GetOrAdd(vocab + "|" + merges, _ => new Lazy<BpeTokenizer>(() => Gpt2Tokenizer.Create(vocab, merges))).Value;
        }
    }
}
