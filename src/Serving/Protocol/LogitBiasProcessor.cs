using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Serving.Protocol;

/// <summary>The OpenAI API's <c>logit_bias</c>: adds a fixed bias (-100 to 100) to chosen token ids' logits at every step.</summary>
internal sealed class LogitBiasProcessor(IReadOnlyList<(int Token, float Bias)> biases) : ILogitsProcessor
{
    public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        foreach (var (token, bias) in biases)
            if ((uint)token < (uint)scores.Length) scores[token] += bias;
    }
}
