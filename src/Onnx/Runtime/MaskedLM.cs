using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>One candidate for a masked position.</summary>
/// <param name="Token">The token's text.</param>
/// <param name="TokenId">Its vocabulary id.</param>
/// <param name="Probability">Softmax probability at the masked position.</param>
public readonly record struct MaskCandidate(string Token, int TokenId, float Probability);

/// <summary>The candidates for one mask token of the input.</summary>
/// <param name="Position">Token position of the mask in the encoded input.</param>
/// <param name="Candidates">The top candidates, most probable first (the mask token itself is never a candidate).</param>
public sealed record MaskPrediction(int Position, IReadOnlyList<MaskCandidate> Candidates);

/// <summary>
/// A masked (bidirectional) language model exported to ONNX, served by ONNX Runtime: a model folder with
/// <c>onnx/model.onnx</c> (input <c>input_ids</c> int64 [batch, sequence], output <c>logits</c> float32 [batch, sequence, vocab]),
/// <see cref="MaskedLMConfig.FileName"/> and the tokenizer files. Thread-safe; dispose to release the session.
/// </summary>
public sealed class MaskedLM : IDisposable
{
    /// <summary>The model file inside the folder ('/'-separated).</summary>
    public const string ModelRelativePath = "onnx/model.onnx";

    private readonly InferenceSession _session;
    private readonly string[] _inputNames = ["input_ids"];
    private readonly string[] _outputNames = ["logits"];

    private MaskedLM(InferenceSession session, MaskedLMConfig config, MaskedLMTokenizer tokenizer, string modelPath)
    {
        _session = session;
        Config = config;
        Tokenizer = tokenizer;
        ModelPath = modelPath;
    }

    /// <summary>The folder's mlm_config.json.</summary>
    public MaskedLMConfig Config { get; }

    /// <summary>The vocabulary with its mask token.</summary>
    public MaskedLMTokenizer Tokenizer { get; }

    /// <summary>Full path of the .onnx file.</summary>
    public string ModelPath { get; }

    /// <summary>Loads a masked-LM folder.</summary>
    /// <param name="folder">Folder written by the masked-LM trainer (or its exporter).</param>
    /// <param name="intraOpNumThreads">ONNX Runtime intra-op threads (0: ONNX Runtime's default).</param>
    public static MaskedLM Load(string folder, int intraOpNumThreads = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Masked-LM model folder '{folder}' was not found.");
        if (intraOpNumThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(intraOpNumThreads), intraOpNumThreads, "intraOpNumThreads must be 0 (ONNX Runtime default) or positive.");
        folder = Path.GetFullPath(folder);
        var config = MaskedLMConfig.Load(Path.Combine(folder, MaskedLMConfig.FileName));
        var tokenizer = MaskedLMTokenizer.Load(folder, config);
        string modelPath = ResolveModelFile(folder);
        OnnxRuntimeNative.EnsureAvailable();
        using var options = new SessionOptions { IntraOpNumThreads = intraOpNumThreads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        var session = new InferenceSession(modelPath, options);
        if (!session.InputMetadata.ContainsKey("input_ids") || !session.OutputMetadata.ContainsKey("logits"))
        {
            session.Dispose();
            throw new InvalidDataException($"'{modelPath}' must have an input 'input_ids' and an output 'logits'.");
        }
        return new MaskedLM(session, config, tokenizer, modelPath);
    }

    /// <summary>The .onnx file of a masked-LM folder.</summary>
    /// <param name="folder">The model folder.</param>
    public static string ResolveModelFile(string folder)
    {
        string path = Path.GetFullPath(Path.Combine(folder, ModelRelativePath.Replace('/', Path.DirectorySeparatorChar)));
        if (!File.Exists(path))
            throw new FileNotFoundException($"The masked-LM folder '{folder}' has no {ModelRelativePath}.", path);
        return path;
    }

    /// <summary>Logits for equal-length sequences: <paramref name="ids"/> holds <paramref name="batch"/> rows of <paramref name="time"/> ids; returns [batch, time, vocab] flattened.</summary>
    /// <param name="ids">Token ids, row-major.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="time">Tokens per row (1..<see cref="MaskedLMConfig.MaxPositions"/>).</param>
    public float[] Forward(long[] ids, int batch, int time)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (batch < 1 || time < 1 || (long)batch * time != ids.Length)
            throw new ArgumentException($"ids has {ids.Length} values; expected batch ({batch}) × time ({time}) with both positive.", nameof(ids));
        CheckLength(time);
        foreach (long id in ids)
            if ((ulong)id >= (ulong)Config.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is outside the vocabulary [0, {Config.VocabSize}).");
        using var input = OrtValue.CreateTensorValueFromMemory(ids, [batch, time]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, _inputNames, [input], _outputNames);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Throws when <paramref name="tokens"/> exceeds the context.</summary>
    /// <param name="tokens">A sequence length in tokens.</param>
    public void CheckLength(int tokens)
    {
        if (tokens > Config.MaxPositions)
            throw new ArgumentException(
                $"The text has {tokens} tokens; the masked LM's context (max_position_embeddings, the training BlockSize) is {Config.MaxPositions}.");
    }

    /// <summary>For each mask token in <paramref name="text"/> (in order), the <paramref name="topK"/> most probable tokens; empty when the text has no mask.</summary>
    /// <param name="text">Text containing <see cref="MaskedLMTokenizer.MaskToken"/> one or more times.</param>
    /// <param name="topK">Candidates per mask (at least 1).</param>
    public IReadOnlyList<MaskPrediction> FillMask(string text, int topK)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (topK < 1)
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "topK must be at least 1.");
        int[] ids = Tokenizer.Encode(text);
        var positions = Enumerable.Range(0, ids.Length).Where(i => ids[i] == Tokenizer.MaskTokenId).ToArray();
        if (positions.Length == 0)
            return [];
        CheckLength(ids.Length);
        float[] logits = Forward(ids.Select(i => (long)i).ToArray(), 1, ids.Length);
        int v = Config.VocabSize;
        var result = new MaskPrediction[positions.Length];
        var probabilities = new double[v];
        for (int m = 0; m < positions.Length; m++)
        {
            Softmax(logits.AsSpan(positions[m] * v, v), probabilities);
            int k = Math.Min(topK, v - 1);
            var best = Enumerable.Range(0, v).Where(i => i != Tokenizer.MaskTokenId)
                .OrderByDescending(i => probabilities[i]).ThenBy(i => i).Take(k)
                .Select(i => new MaskCandidate(Tokenizer.Decode(i), i, (float)probabilities[i])).ToArray();
            result[m] = new MaskPrediction(positions[m], best);
        }
        return result;
    }

    /// <summary>Log-softmax of one row of logits at <paramref name="target"/>, in double precision.</summary>
    /// <param name="row">Logits of one position.</param>
    /// <param name="target">The token whose log-probability is wanted.</param>
    public static double LogProbability(ReadOnlySpan<float> row, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float x in row) max = Math.Max(max, x);
        double sum = 0;
        foreach (float x in row) sum += Math.Exp(x - max);
        return row[target] - max - Math.Log(sum);
    }

    private static void Softmax(ReadOnlySpan<float> row, double[] destination)
    {
        float max = float.NegativeInfinity;
        foreach (float x in row) max = Math.Max(max, x);
        double sum = 0;
        for (int i = 0; i < row.Length; i++)
            sum += destination[i] = Math.Exp(row[i] - max);
        for (int i = 0; i < row.Length; i++)
            destination[i] /= sum;
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();
}
