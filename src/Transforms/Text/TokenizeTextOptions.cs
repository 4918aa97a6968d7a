using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>Options of <see cref="TextGenerationCatalog.TokenizeText(Microsoft.ML.TransformsCatalog, TokenizeTextOptions)"/>.</summary>
public sealed class TokenizeTextOptions
{
    /// <summary>Token ids column (variable-length vector of Int32).</summary>
    public string OutputColumnName { get; set; } = "TokenIds";

    /// <summary>Text column (String; missing counts as empty).</summary>
    public string InputColumnName { get; set; } = "Text";

    /// <summary>A folder with vocab.json + merges.txt (GPT-2 byte-level BPE) or a character vocab.json; set this or <see cref="Tokenizer"/>.</summary>
    public string? TokenizerFolder { get; set; }

    /// <summary>Any Microsoft.ML.Tokenizers tokenizer; set this or <see cref="TokenizerFolder"/>. Saved pipelines refer to it by <see cref="TokenizerName"/>.</summary>
    public Tokenizer? Tokenizer { get; set; }

    /// <summary>Name under which <see cref="Tokenizer"/> is registered in <see cref="TokenizerRegistry"/> (a process loading a saved pipeline registers it again); defaults to its type name.</summary>
    public string? TokenizerName { get; set; }

    /// <summary>Optional Int32 column with the number of ids.</summary>
    public string? CountColumnName { get; set; }

    /// <summary>Folders a saved pipeline searches for <see cref="TokenizerFolder"/> when the recorded one is gone (see <see cref="Serving.ModelSearch"/>).</summary>
    public string[] ModelSearchPaths { get; set; } = [];
}

/// <summary>Options of <see cref="TextGenerationCatalog.DetokenizeText(Microsoft.ML.TransformsCatalog, DetokenizeTextOptions)"/>.</summary>
public sealed class DetokenizeTextOptions
{
    /// <summary>Text column (String).</summary>
    public string OutputColumnName { get; set; } = "Text";

    /// <summary>Token ids column (variable-length vector of Int32).</summary>
    public string InputColumnName { get; set; } = "TokenIds";

    /// <summary>A folder with vocab.json + merges.txt (GPT-2 byte-level BPE) or a character vocab.json; set this or <see cref="Tokenizer"/>.</summary>
    public string? TokenizerFolder { get; set; }

    /// <summary>Any Microsoft.ML.Tokenizers tokenizer; set this or <see cref="TokenizerFolder"/>. Saved pipelines refer to it by <see cref="TokenizerName"/>.</summary>
    public Tokenizer? Tokenizer { get; set; }

    /// <summary>Name under which <see cref="Tokenizer"/> is registered in <see cref="TokenizerRegistry"/>; defaults to its type name.</summary>
    public string? TokenizerName { get; set; }

    /// <summary>Folders a saved pipeline searches for <see cref="TokenizerFolder"/> when the recorded one is gone (see <see cref="Serving.ModelSearch"/>).</summary>
    public string[] ModelSearchPaths { get; set; } = [];
}
