namespace Aigc.MLNet.Transforms.Text;

/// <summary>Options of <see cref="FillMaskCatalog.FillMask(Microsoft.ML.TransformsCatalog, FillMaskOptions)"/>.</summary>
public sealed class FillMaskOptions
{
    /// <summary>A masked-LM model folder (<c>onnx/model.onnx</c>, <c>mlm_config.json</c>, tokenizer files), as written by the masked-LM trainer.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Input text column (String) containing the mask token (e.g. "[MASK]") zero or more times.</summary>
    public string InputColumnName { get; set; } = "Text";

    /// <summary>Output column of candidate tokens: variable-length vector of String, <see cref="TopK"/> per mask, mask by mask in order (most probable first).</summary>
    public string OutputColumnName { get; set; } = "Candidates";

    /// <summary>Output column of the candidates' probabilities (variable-length vector of Single, aligned with <see cref="OutputColumnName"/>); null or empty leaves it out.</summary>
    public string? ProbabilitiesColumnName { get; set; } = "Probabilities";

    /// <summary>Candidates per mask token (at least 1; capped at the vocabulary size minus the mask).</summary>
    public int TopK { get; set; } = 5;

    /// <summary>ONNX Runtime intra-op threads (0 lets ONNX Runtime choose).</summary>
    public int IntraOpNumThreads { get; set; }

    /// <summary>Saved pipelines carry the model folder's files inside the zip (see <see cref="GenerateTextOptions.EmbedModel"/>).</summary>
    public bool EmbedModel { get; set; }

    /// <summary>Folders a saved pipeline searches for its model folder when the recorded one is gone (see <see cref="Serving.ModelSearch"/>).</summary>
    public string[] ModelSearchPaths { get; set; } = [];
}
