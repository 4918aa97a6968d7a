using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Evaluation.Text;
using Microsoft.ML;

namespace Aigc.MLNet.Transforms.Evaluation;

/// <summary>Masked-language-model evaluators on <c>mlContext.GenerativeEvaluation()</c> (and <c>mlContext.Generative().Evaluation</c>).</summary>
public static class MaskedLanguageModelEvaluation
{
    /// <summary>Pseudo-log-likelihood and pseudo-perplexity of a masked LM (ONNX, via <see cref="MaskedLM"/>) over a text column.</summary>
    /// <remarks>
    /// | Column | Type | Content |
    /// | --- | --- | --- |
    /// | textColumnName | Text | one text per row, without mask tokens, at most the model's context in tokens; per-row PLL is in <see cref="PseudoLogLikelihoodMetrics.RowPseudoLogLikelihood"/> |
    /// Every position of every text is masked in turn (one forward pass per position, batched), so the cost is tokens × one pass.
    /// </remarks>
    /// <param name="catalog">The evaluation catalog.</param>
    /// <param name="data">Texts.</param>
    /// <param name="model">The masked LM.</param>
    /// <param name="textColumnName">Text column.</param>
    /// <param name="batchSize">Masked copies per forward pass.</param>
    public static PseudoLogLikelihoodMetrics EvaluatePseudoLogLikelihood(this GenerativeEvaluationCatalog catalog, IDataView data, MaskedLM model,
        string textColumnName = "Text", int batchSize = 32)
        => catalog.EvaluatePseudoLogLikelihood(data, model, textColumnName, new PseudoLogLikelihoodOptions { BatchSize = batchSize });

    /// <summary>Pseudo-log-likelihood with full options.</summary>
    /// <param name="catalog">The evaluation catalog.</param>
    /// <param name="data">Texts.</param>
    /// <param name="model">The masked LM.</param>
    /// <param name="textColumnName">Text column.</param>
    /// <param name="options">Batching.</param>
    public static PseudoLogLikelihoodMetrics EvaluatePseudoLogLikelihood(this GenerativeEvaluationCatalog catalog, IDataView data, MaskedLM model,
        string textColumnName, PseudoLogLikelihoodOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var texts = ColumnReader.ReadText(data, textColumnName, nameof(textColumnName));
        ColumnReader.RequireRows(texts.Count, nameof(data), "Pseudo-log-likelihood");
        return PseudoLogLikelihood.Evaluate(model, texts, options);
    }
}
