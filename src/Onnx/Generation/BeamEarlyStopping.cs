namespace Aigc.MLNet.Onnx.Generation;

/// <summary>When beam search stops, as Hugging Face's <c>early_stopping</c> (True, False or "never").</summary>
public enum BeamEarlyStopping
{
    /// <summary>HF <c>early_stopping=False</c>: stop when the heuristic says no better hypothesis can be found (best running score over the current length).</summary>
    Heuristic,

    /// <summary>HF <c>early_stopping=True</c>: stop as soon as NumBeams hypotheses are finished.</summary>
    WhenBeamsFinished,

    /// <summary>HF <c>early_stopping="never"</c>: stop only when no better hypothesis can exist (exact bound; with a positive length penalty it assumes the maximum length).</summary>
    Never,
}
