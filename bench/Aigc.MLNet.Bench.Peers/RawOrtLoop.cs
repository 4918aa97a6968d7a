using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>
/// The floor of our overhead: a hand-written greedy loop straight on ONNX Runtime over a GPT-2 file in the Optimum layout
/// (<c>past_key_values.N.key/value</c>) or ONNX Runtime's GPT-2 layout (stacked <c>past_N</c> [2, b, H, past, D], ids
/// int32 or int64). The present outputs are fed back as the next step's past inputs (never copied), logits land in one
/// reused buffer, the next token is an argmax. No logits processors, no tokenizer, no stop checks.
/// </summary>
internal sealed class RawOrtLoop : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly RunOptions _run = new();
    private readonly string[] _pastNames;
    private readonly string[] _presentNames;
    private readonly bool _hasPositions;
    private readonly bool _stacked;
    private readonly bool _int32Ids;
    private readonly int _heads;
    private readonly int _headSize;
    private readonly int _vocab;

    /// <param name="modelFile">A GPT-2 .onnx file in the Optimum or the ONNX Runtime GPT-2 layout.</param>
    /// <param name="threads">Intra-op threads.</param>
    /// <param name="vocab">Vocabulary size (logits width).</param>
    /// <param name="profilePrefix">When set, ONNX Runtime's profiler writes a trace starting with this path.</param>
    public RawOrtLoop(string modelFile, int threads, int vocab, string? profilePrefix = null)
    {
        _options = new SessionOptions { IntraOpNumThreads = threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (profilePrefix is not null)
        {
            // The prefix must be set first: enabling profiling hands ONNX Runtime the prefix current at that moment.
            _options.ProfileOutputPathPrefix = profilePrefix;
            _options.EnableProfiling = true;
        }
        _session = new InferenceSession(modelFile, _options);
        var inputs = _session.InputMetadata;
        _pastNames = [.. _session.InputNames.Where(n => n.StartsWith("past_key_values.", StringComparison.Ordinal))];
        _presentNames = [.. _pastNames.Select(n => "present." + n["past_key_values.".Length..])];
        if (_pastNames.Length == 0)
        {
            // ONNX Runtime's GPT-2 layout: past_0, past_1, ... stacking keys and values.
            _pastNames = [.. _session.InputNames.Where(n => n.StartsWith("past_", StringComparison.Ordinal) && int.TryParse(n.AsSpan(5), out _))];
            _presentNames = [.. _pastNames.Select(n => "present_" + n[5..])];
            _stacked = _pastNames.Length > 0;
        }
        if (_pastNames.Length == 0 || !inputs.ContainsKey("input_ids") || !inputs.ContainsKey("attention_mask"))
            throw new InvalidDataException($"'{modelFile}' is neither an Optimum-layout nor an ONNX Runtime GPT-2-layout decoder (inputs: {string.Join(", ", _session.InputNames)}).");
        _hasPositions = inputs.ContainsKey("position_ids");
        _int32Ids = inputs["input_ids"].ElementDataType == TensorElementType.Int32;
        int[] dims = inputs[_pastNames[0]].Dimensions;
        int offset = _stacked ? 1 : 0;
        _heads = dims[offset + 1];
        _headSize = dims[offset + 3];
        _vocab = vocab;
    }

    /// <summary>Greedy continuation of <paramref name="batch"/> copies of <paramref name="prompt"/>; returns row 0's new ids.</summary>
    public int[] Generate(IReadOnlyList<int> prompt, int batch, int newTokens)
    {
        int p = prompt.Count, total = p + newTokens;
        int inputCount = 2 + (_hasPositions ? 1 : 0) + _pastNames.Length;
        var inputNames = new string[inputCount];
        var inputValues = new OrtValue[inputCount];
        var outputNames = new string[1 + _presentNames.Length];
        var outputValues = new OrtValue[outputNames.Length];
        outputNames[0] = "logits";
        _presentNames.CopyTo(outputNames, 1);

        var ids = new long[batch * p];
        var positions = new long[batch * p];
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < p; j++) { ids[r * p + j] = prompt[j]; positions[r * p + j] = j; }
        var mask = new long[batch * total];
        Array.Fill(mask, 1L);
        var step = new long[batch];
        var stepPositions = new long[batch];
        var prefillLogits = new float[batch * p * _vocab];
        var stepLogits = new float[batch * _vocab];
        var generated = new int[newTokens];
        long[] cacheShape = _stacked ? [2, batch, _heads, 0, _headSize] : [batch, _heads, 0, _headSize];
        int lengthAxis = _stacked ? 3 : 2;
        // int32 copies of the index inputs for files that declare them so (ONNX Runtime's GPT-2 export).
        int[]? ids32 = _int32Ids ? Array.ConvertAll(ids, v => (int)v) : null, positions32 = _int32Ids ? Array.ConvertAll(positions, v => (int)v) : null;
        int[]? mask32 = _int32Ids ? Array.ConvertAll(mask, v => (int)v) : null;
        int[]? step32 = _int32Ids ? new int[batch] : null, stepPositions32 = _int32Ids ? new int[batch] : null;

        var past = new OrtValue[_pastNames.Length];
        for (int i = 0; i < past.Length; i++)
            past[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, cacheShape);
        using var stepLogitsValue = OrtValue.CreateTensorValueFromMemory(stepLogits, [batch, 1, _vocab]);
        try
        {
            for (int t = 0; t < newTokens; t++)
            {
                int fed = t == 0 ? p : 1, length = p + t;
                int k = 0;
                OrtValue idsValue, maskValue, positionValue;
                if (t == 0)
                {
                    idsValue = Index(ids, ids32, [batch, p]);
                    positionValue = Index(positions, positions32, [batch, p]);
                }
                else
                {
                    idsValue = Index(step, step32, [batch, 1]);
                    positionValue = Index(stepPositions, stepPositions32, [batch, 1]);
                }
                // Every row's mask is all ones, so the first batch*length entries form a valid [batch, length] tensor.
                maskValue = mask32 is null
                    ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, mask.AsMemory(0, batch * length), [batch, length])
                    : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, mask32.AsMemory(0, batch * length), [batch, length]);
                inputNames[k] = "input_ids"; inputValues[k++] = idsValue;
                inputNames[k] = "attention_mask"; inputValues[k++] = maskValue;
                if (_hasPositions) { inputNames[k] = "position_ids"; inputValues[k++] = positionValue; }
                for (int i = 0; i < past.Length; i++) { inputNames[k] = _pastNames[i]; inputValues[k++] = past[i]; }

                using var prefillValue = t == 0 ? OrtValue.CreateTensorValueFromMemory(prefillLogits, [batch, p, _vocab]) : null;
                outputValues[0] = t == 0 ? prefillValue! : stepLogitsValue;
                cacheShape[lengthAxis] = length;
                var present = new OrtValue[past.Length];
                for (int i = 0; i < present.Length; i++)
                    outputValues[i + 1] = present[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, cacheShape);
                try
                {
                    _session.Run(_run, inputNames, inputValues, outputNames, outputValues);
                }
                catch
                {
                    foreach (var v in present) v.Dispose();
                    throw;
                }
                finally
                {
                    idsValue.Dispose();
                    maskValue.Dispose();
                    positionValue.Dispose();
                }
                foreach (var v in past) v.Dispose();
                past = present;

                for (int r = 0; r < batch; r++)
                {
                    ReadOnlySpan<float> row = t == 0
                        ? prefillLogits.AsSpan(((r * p) + p - 1) * _vocab, _vocab)
                        : stepLogits.AsSpan(r * _vocab, _vocab);
                    int token = ArgMax(row);
                    step[r] = token;
                    stepPositions[r] = length;
                    if (step32 is not null) { step32[r] = token; stepPositions32![r] = length; }
                    if (r == 0) generated[t] = token;
                }
            }
        }
        finally
        {
            foreach (var v in past) v.Dispose();
        }
        return generated;
    }

    private static OrtValue Index(long[] values, int[]? values32, long[] shape) =>
        values32 is null ? OrtValue.CreateTensorValueFromMemory(values, shape) : OrtValue.CreateTensorValueFromMemory(values32, shape);

    /// <summary>Index of the largest value, the first one on ties (as torch.argmax and transformers.js).</summary>
    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        float max = values[0];
        for (int i = 1; i < values.Length; i++)
            if (values[i] > max) { max = values[i]; best = i; }
        return best;
    }

    /// <summary>Stops profiling and returns the trace file's path.</summary>
    public string EndProfiling() => _session.EndProfiling();

    public void Dispose()
    {
        _session.Dispose();
        _options.Dispose();
        _run.Dispose();
    }
}
