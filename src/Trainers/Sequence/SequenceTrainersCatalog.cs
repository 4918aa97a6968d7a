using Aigc.MLNet.Transforms;

namespace Aigc.MLNet.Trainers.Sequence;

/// <summary>Numeric-series trainers on <c>mlContext.Generative().Trainers</c>.</summary>
public static class SequenceTrainersCatalog
{
    /// <summary>An AR(p) trainer: least squares on a numeric column; the fitted transformer forecasts (or samples) from a history column.</summary>
    /// <param name="trainers">The generative trainers catalog.</param>
    /// <param name="options">Order, columns, horizon, sampling and seed.</param>
    public static AutoRegressiveTrainer AutoRegressive(this GenerativeTrainers trainers, AutoRegressiveTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(trainers);
        return new AutoRegressiveTrainer(options, trainers.Context);
    }

    /// <summary>An AR(p) trainer with the mean forecast.</summary>
    /// <param name="trainers">The generative trainers catalog.</param>
    /// <param name="forecastColumnName">Column the fitted transformer adds (vector of Single, <paramref name="horizon"/> long).</param>
    /// <param name="historyColumnName">History column of the data given to the fitted transformer (vector of Single).</param>
    /// <param name="seriesColumnName">Numeric training column (Single or Double), one series in row order.</param>
    /// <param name="order">The order p.</param>
    /// <param name="horizon">Steps forecast per row.</param>
    /// <param name="fitIntercept">Whether to estimate the constant c.</param>
    public static AutoRegressiveTrainer AutoRegressive(this GenerativeTrainers trainers, string forecastColumnName = "Forecast",
        string historyColumnName = "History", string seriesColumnName = "Value", int order = 2, int horizon = 10, bool fitIntercept = true)
        => AutoRegressive(trainers, new AutoRegressiveTrainerOptions
        {
            ForecastColumnName = forecastColumnName, HistoryColumnName = historyColumnName, SeriesColumnName = seriesColumnName,
            Order = order, Horizon = horizon, FitIntercept = fitIntercept,
        });
}
