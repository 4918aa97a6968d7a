namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>The input/output convention of a decoder-only ONNX model, detected from the session's metadata.</summary>
public enum DecoderLayout
{
    /// <summary>Hugging Face Optimum (current): <c>past_key_values.{i}.key/.value</c> in, <c>present.{i}.key/.value</c> out, [batch, heads, past, head_dim].</summary>
    Optimum,

    /// <summary>Optimum's legacy <c>decoder_model_merged.onnx</c>: the Optimum names plus a bool <c>use_cache_branch</c> input.</summary>
    OptimumMerged,

    /// <summary>ONNX Runtime's GPT-2 export / ONNX Runtime GenAI: <c>past_{i}</c> / <c>present_{i}</c> stacking key and value as [2, batch, heads, past, head_dim].</summary>
    OrtGpt2,

    /// <summary>A decoder without a key/value cache (for example Optimum's <c>decoder_model.onnx</c>): every step recomputes the whole sequence.</summary>
    NoCache,
}
