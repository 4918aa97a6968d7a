namespace Aigc.MLNet.Transforms.Data;

/// <summary>How a text file is cut into rows.</summary>
public enum TextCorpusUnit
{
    /// <summary>One row per line, without its line terminator.</summary>
    Lines,

    /// <summary>One row per paragraph: runs of non-empty lines separated by blank lines, joined with '\n'.</summary>
    Paragraphs,

    /// <summary>Consecutive chunks of <see cref="TextCorpusOptions.ChunkLength"/> characters (the last may be shorter); concatenated they give the file back exactly.</summary>
    Chunks,

    /// <summary>The whole file as one row.</summary>
    Document,
}

/// <summary>Options of <see cref="TextCorpusCatalog.LoadTextCorpus(Microsoft.ML.DataOperationsCatalog, string, TextCorpusOptions)"/>.</summary>
public sealed class TextCorpusOptions
{
    /// <summary>Name of the text column.</summary>
    public string ColumnName { get; set; } = "Text";

    /// <summary>How the file is cut into rows.</summary>
    public TextCorpusUnit Unit { get; set; } = TextCorpusUnit.Lines;

    /// <summary>Characters per row with <see cref="TextCorpusUnit.Chunks"/>; a chunk never ends inside a surrogate pair.</summary>
    public int ChunkLength { get; set; } = 1024;

    /// <summary>Whether empty lines become rows with <see cref="TextCorpusUnit.Lines"/>.</summary>
    public bool KeepEmptyLines { get; set; }
}
