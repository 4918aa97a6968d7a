using System.Collections.Concurrent;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// Named tokenizer instances for <see cref="TextGenerationCatalog.TokenizeText(Microsoft.ML.TransformsCatalog, string, string, Tokenizer, string?)"/>.
/// A saved pipeline stores only the name: register the same name in the process that loads it.
/// </summary>
public static class TokenizerRegistry
{
    private static readonly ConcurrentDictionary<string, Tokenizer> s_tokenizers = new(StringComparer.Ordinal);

    /// <summary>Registers (or replaces) a tokenizer under a name.</summary>
    /// <param name="name">The name saved pipelines refer to.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    public static void Register(string name, Tokenizer tokenizer)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(tokenizer);
        s_tokenizers[name] = tokenizer;
    }

    /// <summary>The tokenizer registered under <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">Nothing is registered under that name.</exception>
    public static Tokenizer Get(string name) =>
        s_tokenizers.TryGetValue(name, out var tokenizer)
            ? tokenizer
            : throw new KeyNotFoundException(
                $"No tokenizer is registered under '{name}'. Call TokenizerRegistry.Register(\"{name}\", tokenizer) before running or loading a pipeline that uses it.");
}
