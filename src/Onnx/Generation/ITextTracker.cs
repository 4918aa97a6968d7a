namespace Aigc.MLNet.Onnx.Generation;

/// <summary>Follows one sequence's generated text: incremental UTF-8-safe decoding plus stop-sequence matching.</summary>
internal interface ITextTracker
{
    /// <summary>Adds a generated token; returns true when the text now contains a stop sequence.</summary>
    bool Append(int tokenId);

    /// <summary>Text that became final since the last call (never a split character, never part of a possible stop sequence).</summary>
    string TakeDelta();

    /// <summary>Everything not yet returned by <see cref="TakeDelta"/>, once the sequence has finished.</summary>
    string TakeRest();

    /// <summary>The whole generated text, cut before the stop sequence when one was found.</summary>
    string Text { get; }
}
