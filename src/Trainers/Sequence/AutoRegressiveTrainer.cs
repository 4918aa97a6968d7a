using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Sequence;

/// <summary>
/// Fits an AR(p) model x_t = c + φ_1 x_{t-1} + … + φ_p x_{t-p} + ε_t by least squares on a numeric column (the rows,
/// in order, are one series) and returns a transformer that forecasts from a history column.
/// </summary>
/// <remarks>
/// | Column | Type | Used for |
/// | --- | --- | --- |
/// | <see cref="AutoRegressiveTrainerOptions.SeriesColumnName"/> (training data) | Single or Double | the series, in row order |
/// | <see cref="AutoRegressiveTrainerOptions.HistoryColumnName"/> (data given to the fitted transformer) | vector of Single (fixed or variable length) | recent past, most recent last, at least p values |
/// | <see cref="AutoRegressiveTrainerOptions.ForecastColumnName"/> (added by the fitted transformer) | variable-length vector of Single | <see cref="AutoRegressiveTrainerOptions.Horizon"/> values: the mean forecast or a seeded sample path |
/// </remarks>
public sealed class AutoRegressiveTrainer : IEstimator<AutoRegressiveTransformer>
{
    private readonly MLContext? _mlContext;

    internal AutoRegressiveTrainer(AutoRegressiveTrainerOptions options, MLContext? mlContext = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _mlContext = mlContext;
        ArgumentException.ThrowIfNullOrEmpty(options.SeriesColumnName, "options.SeriesColumnName");
        ArgumentException.ThrowIfNullOrEmpty(options.HistoryColumnName, "options.HistoryColumnName");
        ArgumentException.ThrowIfNullOrEmpty(options.ForecastColumnName, "options.ForecastColumnName");
        if (options.Order < 1)
            throw new ArgumentOutOfRangeException("options.Order", options.Order, "AutoRegressiveTrainerOptions.Order must be at least 1.");
        if (options.Horizon < 1)
            throw new ArgumentOutOfRangeException("options.Horizon", options.Horizon, "AutoRegressiveTrainerOptions.Horizon must be at least 1.");
        Options = options;
    }

    /// <summary>The options.</summary>
    public AutoRegressiveTrainerOptions Options { get; }

    /// <summary>Reads the series column, fits the model and returns the forecasting transformer.</summary>
    /// <param name="input">Training data with the series column.</param>
    public AutoRegressiveTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = Options;
        double[] series = ReadSeries(input, o.SeriesColumnName);
        int parameters = o.Order + (o.FitIntercept ? 1 : 0);
        int needed = o.Order + parameters + 1;
        if (series.Length < needed)
            throw new ArgumentException($"AutoRegressive: series column '{o.SeriesColumnName}' has {series.Length} rows; AR({o.Order}){(o.FitIntercept ? " with an intercept" : "")} needs at least {needed}.", nameof(input));
        AutoRegressiveModel model;
        try
        {
            model = AutoRegressiveModel.Fit(series, o.Order, o.FitIntercept);
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException($"AutoRegressive: series column '{o.SeriesColumnName}' cannot be fitted: {e.Message}", nameof(input), e);
        }
        return Create(_mlContext ?? new MLContext(seed: 0), model, o);
    }

    /// <summary>A forecasting transformer over an already fitted <paramref name="model"/>.</summary>
    /// <param name="model">The AR model.</param>
    /// <param name="options">Column names, horizon, sampling and seed (the series options are not used).</param>
    public static AutoRegressiveTransformer Create(AutoRegressiveModel model, AutoRegressiveTrainerOptions options) =>
        Create(new MLContext(seed: 0), model, options);

    /// <summary>A forecasting transformer over an already fitted <paramref name="model"/>, built in <paramref name="mlContext"/> (its log and seed reach the chain).</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="model">The AR model.</param>
    /// <param name="options">Column names, horizon, sampling and seed (the series options are not used).</param>
    public static AutoRegressiveTransformer Create(MLContext mlContext, AutoRegressiveModel model, AutoRegressiveTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        var checkedOptions = new AutoRegressiveTrainer(options).Options;
        var config = new AutoRegressiveConfig
        {
            Coefficients = [.. model.Coefficients], Intercept = model.Intercept, NoiseStdDev = model.NoiseStdDev,
            Horizon = checkedOptions.Horizon, Sample = checkedOptions.SampleContinuations, Seed = checkedOptions.Seed,
            HistoryColumn = checkedOptions.HistoryColumnName,
        };
        var ml = mlContext;
        var estimator = ConfiguredMapping.Create(ml, ConfiguredMapping.EncodeConfig(config), new AutoRegressiveMapping(), AutoRegressiveMapping.ContractName,
            [(checkedOptions.HistoryColumnName, AutoRegressiveMapping.HistoryProperty)], [(AutoRegressiveMapping.ForecastProperty, checkedOptions.ForecastColumnName)]);
        // CustomMapping fits without looking at rows: an empty view with the history column is enough.
        var definition = SchemaDefinition.Create(typeof(HistoryRow));
        definition[0].ColumnName = checkedOptions.HistoryColumnName;
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<HistoryRow>(), definition);
        return new AutoRegressiveTransformer(estimator.Fit(empty), model, checkedOptions.HistoryColumnName, checkedOptions.Horizon, checkedOptions.SampleContinuations);
    }

    /// <summary>Checks the series column; the fitted transformer applies to history data, so the schema is returned unchanged.</summary>
    /// <param name="inputSchema">Schema of the training data.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        string name = Options.SeriesColumnName;
        var found = inputSchema.Where(c => c.Name == name).ToArray();
        if (found.Length == 0)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"AutoRegressive: series column '{name}' was not found; expected a Single or Double column.");
        var column = found[^1];
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || (column.ItemType != NumberDataViewType.Single && column.ItemType != NumberDataViewType.Double))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"AutoRegressive: series column '{name}' must be Single or Double; found {column.ItemType}{(column.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
        return inputSchema;
    }

    private static double[] ReadSeries(IDataView data, string name)
    {
        var column = data.Schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(data), $"AutoRegressive: series column '{name}' was not found; expected a Single or Double column.");
        var values = new List<double>();
        using var cursor = data.GetRowCursor([column]);
        Func<double> read;
        if (column.Type == NumberDataViewType.Single)
        {
            var getter = cursor.GetGetter<float>(column);
            read = () => { float v = 0; getter(ref v); return v; };
        }
        else if (column.Type == NumberDataViewType.Double)
        {
            var getter = cursor.GetGetter<double>(column);
            read = () => { double v = 0; getter(ref v); return v; };
        }
        else
        {
            throw new ArgumentOutOfRangeException(nameof(data), $"AutoRegressive: series column '{name}' must be Single or Double; found {column.Type}.");
        }
        while (cursor.MoveNext())
        {
            double v = read();
            if (!double.IsFinite(v))
                throw new ArgumentException($"AutoRegressive: series column '{name}' holds a non-finite value ({v}) at row {values.Count}.", nameof(data));
            values.Add(v);
        }
        return [.. values];
    }

    private sealed class HistoryRow
    {
        public float[] History { get; set; } = [];
    }
}
