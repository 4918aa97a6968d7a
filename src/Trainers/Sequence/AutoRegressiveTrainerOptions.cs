namespace Aigc.MLNet.Trainers.Sequence;

/// <summary>Options of <see cref="AutoRegressiveTrainer"/>.</summary>
public sealed class AutoRegressiveTrainerOptions
{
    /// <summary>Numeric column (Single or Double) of the training data; its rows, in order, form one series.</summary>
    public string SeriesColumnName { get; set; } = "Value";

    /// <summary>Column of the data given to the fitted transformer: a vector of Single with the recent past, most recent value last (at least <see cref="Order"/> values).</summary>
    public string HistoryColumnName { get; set; } = "History";

    /// <summary>Column the fitted transformer adds: a vector of Single, <see cref="Horizon"/> values long.</summary>
    public string ForecastColumnName { get; set; } = "Forecast";

    /// <summary>The order p (number of lagged values).</summary>
    public int Order { get; set; } = 2;

    /// <summary>Whether to estimate the constant c (otherwise c = 0).</summary>
    public bool FitIntercept { get; set; } = true;

    /// <summary>Steps forecast per row.</summary>
    public int Horizon { get; set; } = 10;

    /// <summary>False: the mean forecast. True: one sample path with Gaussian innovations (σ of the fit's residuals).</summary>
    public bool SampleContinuations { get; set; }

    /// <summary>Seed of sample paths; each row's generator is seeded from it and the row's history, so outputs are reproducible.</summary>
    public int Seed { get; set; }
}
