namespace Aigc.MLNet.Onnx.Gpt2;

/// <summary>The ONNX interfaces a GPT-2 export can take (see each member for inputs and outputs).</summary>
public enum Gpt2OnnxLayout
{
    /// <summary>
    /// Hugging Face Optimum's current decoder (<c>onnx/model.onnx</c>, transformers.js v3+): inputs <c>input_ids</c>,
    /// <c>attention_mask</c> [batch, past+sequence], <c>position_ids</c> (int64) and <c>past_key_values.{i}.key/.value</c>
    /// [batch, heads, past, head_size]; outputs <c>logits</c> and <c>present.{i}.key/.value</c>.
    /// </summary>
    Optimum,

    /// <summary>
    /// Optimum's legacy merged decoder (<c>decoder_model_merged.onnx</c>): the <see cref="Optimum"/> interface plus a bool
    /// input <c>use_cache_branch</c> [1] selecting, through an <c>If</c>, the with-past or the no-past branch. Past inputs
    /// are always fed; the no-past branch ignores them and uses the last <c>sequence</c> columns of the mask.
    /// </summary>
    OptimumMergedLegacy,

    /// <summary>
    /// ONNX Runtime's GPT-2 export / ONNX Runtime GenAI: inputs <c>input_ids</c>, <c>position_ids</c>,
    /// <c>attention_mask</c> (int64, or int32 when asked) and <c>past_{i}</c> [2, batch, heads, past, head_size]
    /// stacking key and value; outputs <c>logits</c> and <c>present_{i}</c>.
    /// </summary>
    OnnxRuntimeGpt2,
}
