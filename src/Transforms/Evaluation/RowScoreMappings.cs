using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Evaluation.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Evaluation;

/// <summary>Input row of the per-row text score mappings (fixed names; the chain copies user columns onto them).</summary>
internal sealed class TextScoreInput
{
    public string __AigcEvalText { get; set; } = "";
}

/// <summary>Input row of the per-row BLEU mapping.</summary>
internal sealed class BleuRowInput
{
    public string __AigcEvalText { get; set; } = "";
    public string[] __AigcEvalReferences { get; set; } = [];
}

/// <summary>Output row of the per-row score mappings.</summary>
internal sealed class ScoreOutput
{
    public float __AigcEvalScore { get; set; }
}

/// <summary>Builds the per-row score estimators of <see cref="GenerativeEvaluationCatalog"/>.</summary>
internal static class RowScoreMappings
{
    private const string Text = "__AigcEvalText";
    private const string References = "__AigcEvalReferences";
    private const string Score = "__AigcEvalScore";

    private static bool IsText(DataViewType t) => t is TextDataViewType;

    private static bool IsTextOrTextVector(DataViewType t) => t is TextDataViewType or VectorDataViewType { ItemType: TextDataViewType };

    public static RowScoreEstimator Nll(MLContext ml, CausalLM model, string inputColumnName, string outputColumnName, PerplexityOptions options)
    {
        options.Validate();
        var tokenizer = options.Tokenizer ?? model.Tokenizer
            ?? throw new ArgumentException($"Model '{model.ModelPath}' has no tokenizer beside it; set PerplexityOptions.Tokenizer.", nameof(options));
        int window = options.WindowSize ?? model.Config.MaxPositions ?? 1024;
        int stride = options.Stride ?? window;
        int? bos = options.PrependBos ? model.Config.BosTokenId ?? throw new ArgumentException("PrependBos needs a model BOS token.", nameof(options)) : null;
        var chain = ml.Transforms.CopyColumns(Text, inputColumnName)
            .Append(ml.Transforms.CustomMapping<TextScoreInput, ScoreOutput>((input, output) =>
            {
                var ids = new List<int>();
                if (bos is { } b) ids.Add(b);
                ids.AddRange(tokenizer.EncodeToIds(input.__AigcEvalText ?? ""));
                var (nll, n) = Perplexity.ScoreTokens(model, ids, window, stride);
                output.__AigcEvalScore = n == 0 ? float.NaN : (float)(nll / n);
            }, contractName: null))
            .Append(ml.Transforms.CopyColumns(outputColumnName, Score))
            .Append(ml.Transforms.DropColumns(Text, Score));
        return new RowScoreEstimator(chain, [(inputColumnName, IsText, "Text")]);
    }

    public static RowScoreEstimator SentenceBleu(MLContext ml, string hypothesisColumnName, string referenceColumnName, string outputColumnName, BleuOptions options)
    {
        var metric = new BleuMetric(options);
        // References may be one Text or a vector of Text: convert both to a variable-length Text vector first.
        var chain = ml.Transforms.CopyColumns(Text, hypothesisColumnName)
            .Append(new ReferenceVectorEstimator(ml, referenceColumnName, References))
            .Append(ml.Transforms.CustomMapping<BleuRowInput, ScoreOutput>((input, output) =>
                output.__AigcEvalScore = (float)metric.SentenceScore(input.__AigcEvalText ?? "", input.__AigcEvalReferences ?? []).Score,
                contractName: null))
            .Append(ml.Transforms.CopyColumns(outputColumnName, Score))
            .Append(ml.Transforms.DropColumns(Text, References, Score));
        return new RowScoreEstimator(chain, [(hypothesisColumnName, IsText, "Text"), (referenceColumnName, IsTextOrTextVector, "Text or a vector of Text")]);
    }

    /// <summary>Copies a Text or Vector&lt;Text&gt; column into a variable-length Vector&lt;Text&gt; column.</summary>
    private sealed class ReferenceVectorEstimator(MLContext ml, string source, string target) : IEstimator<ITransformer>
    {
        public ITransformer Fit(IDataView input) => Build(input.Schema[source].Type).Fit(input);

        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            var column = inputSchema.First(c => c.Name == source);
            DataViewType type = column.Kind == SchemaShape.Column.VectorKind.Scalar
                ? TextDataViewType.Instance
                : new VectorDataViewType(TextDataViewType.Instance);
            return Build(type).GetOutputSchema(inputSchema);
        }

        private IEstimator<ITransformer> Build(DataViewType type)
        {
            const string tmp = "__AigcEvalRefIn";
            var copy = ml.Transforms.CopyColumns(tmp, source);
            if (type is TextDataViewType)
                return copy.Append(ml.Transforms.CustomMapping<ScalarReference, VectorReference>(
                        (i, o) => o.__AigcEvalRefOut = [i.__AigcEvalRefIn ?? ""], contractName: null))
                    .Append(ml.Transforms.CopyColumns(target, "__AigcEvalRefOut"))
                    .Append(ml.Transforms.DropColumns(tmp, "__AigcEvalRefOut"));
            var schema = SchemaDefinition.Create(typeof(VectorReferenceIn));
            schema[tmp].ColumnType = type;
            return copy.Append(ml.Transforms.CustomMapping<VectorReferenceIn, VectorReference>(
                    (i, o) => o.__AigcEvalRefOut = i.__AigcEvalRefIn ?? [], contractName: null, inputSchemaDefinition: schema))
                .Append(ml.Transforms.CopyColumns(target, "__AigcEvalRefOut"))
                .Append(ml.Transforms.DropColumns(tmp, "__AigcEvalRefOut"));
        }
    }

    private sealed class ScalarReference
    {
        public string __AigcEvalRefIn { get; set; } = "";
    }

    private sealed class VectorReferenceIn
    {
        public string[] __AigcEvalRefIn { get; set; } = [];
    }

    private sealed class VectorReference
    {
        public string[] __AigcEvalRefOut { get; set; } = [];
    }
}
