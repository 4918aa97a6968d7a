using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Aigc.MLNet.Cli;

/// <summary>
/// A Spectre.Console progress bar for training: steps, losses, it/s and ETA. On a console that is not interactive
/// (redirected output, tests) it prints one line every few reports instead.
/// </summary>
internal sealed class ProgressView
{
    private readonly CliContext _context;

    public ProgressView(CliContext context) => _context = context;

    /// <summary>Runs <paramref name="work"/> with a bar of <paramref name="totalSteps"/>; work calls the reporter with (step, description).</summary>
    public T Run<T>(string title, long totalSteps, Func<Action<long, string>, T> work)
    {
        if (!_context.Console.Profile.Capabilities.Interactive)
        {
            var clock = Stopwatch.StartNew();
            long lastPrinted = -1;
            double lastPrintedAt = 0;
            long every = Math.Max(1, totalSteps / 10);
            // The first report, then every tenth of the run or every 10 seconds, whichever comes first.
            return work((step, text) =>
            {
                double now = clock.Elapsed.TotalSeconds;
                bool due = lastPrinted < 0 || step / every != lastPrinted / every || step == totalSteps || now - lastPrintedAt >= 10;
                if (!due) return;
                lastPrinted = step;
                lastPrintedAt = now;
                double rate = step / Math.Max(1e-9, now);
                _context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{title}: step {step}/{totalSteps} {text} {rate:F1} it/s"));
            });
        }
        T result = default!;
        var losses = new TextStateColumn();
        _context.Console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new PercentageColumn(),
                     new ItPerSecondColumn(), new RemainingTimeColumn(), losses)
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(1, totalSteps));
                var clock = Stopwatch.StartNew();
                result = work((step, text) =>
                {
                    task.Value = Math.Min(step, totalSteps);
                    task.State.Update<double>("rate", _ => step / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
                    losses.Text = text;
                    task.Description = Markup.Escape($"{title} {step}/{totalSteps}");
                });
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>The losses of the last report, after the timing columns so a narrow terminal keeps the bar readable.</summary>
    private sealed class TextStateColumn : ProgressColumn
    {
        public volatile string Text = "";

        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(Text, new Style(Color.Aqua));
    }

    /// <summary>Steps per second from the task state.</summary>
    private sealed class ItPerSecondColumn : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{task.State.Get<double>("rate"):F1} it/s"), new Style(Color.Grey));
    }
}
