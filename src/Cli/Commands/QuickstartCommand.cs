using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Cli.Jobs;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;

namespace Aigc.MLNet.Cli.Commands;

/// <summary>
/// <c>aigc quickstart</c>, the README's main job: data → GAN and VAE on MNIST → PNG grids → char GPT on Tiny Shakespeare →
/// ONNX → generation over a few prompts → perplexity and classifier score → a summary table.
/// </summary>
internal static class QuickstartCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("quickstart", "The main job: fetch data, train a small GAN, VAE and char GPT briefly, write PNG grids and the ONNX folder, generate text, evaluate, print a summary (≈ 3-5 min on 2 cores).");
        var output = new Option<string>("--out", "-o") { Description = "Output folder.", DefaultValueFactory = _ => Path.Combine("artifacts", "quickstart") };
        var scale = new Option<double>("--scale") { Description = "Multiplies the step counts (0.1 for a smoke test, 3 for better pictures).", DefaultValueFactory = _ => 1.0 };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = all).", DefaultValueFactory = _ => 0 };
        command.Add(output);
        command.Add(scale);
        command.Add(threads);
        command.SetAction(async (parse, ct) => await Run(context, parse.GetValue(output)!, parse.GetValue(scale), parse.GetValue(threads), ct).ConfigureAwait(false));
        return command;
    }

    /// <summary>Runs the main job; returns the exit code.</summary>
    public static async Task<int> Run(CliContext context, string outputFolder, double scale, int threads, CancellationToken ct)
    {
        if (!(scale > 0)) throw new CliException($"--scale must be positive, got {scale}.", ExitCodes.Usage);
        var clock = Stopwatch.StartNew();
        string root = Path.GetFullPath(outputFolder);
        var rows = new List<(string Step, string Result, string Files, TimeSpan Time)>();
        int Steps(int n) => Math.Max(2, (int)Math.Round(n * scale));

        var t = Stopwatch.StartNew();
        if (!DataCommands.DataPresent())
        {
            context.Console.MarkupLine("[bold]1/6 fetching data[/]");
            int code = await DataCommands.Fetch(context, null, ct).ConfigureAwait(false);
            if (code != 0) throw new CliException("data fetch failed (see above); run 'bash eng/fetch-data.sh' to retry.");
        }
        rows.Add(("data", "MNIST + Tiny Shakespeare ready", DatasetPaths.Root, t.Elapsed));

        context.Console.MarkupLine("[bold]2/6 GAN on MNIST[/]");
        t.Restart();
        var gan = TrainCommands.TrainImageModel(context, new ImageModelJobSettings
        {
            Kind = ImageModelKind.Gan, MnistFolder = DatasetPaths.MnistFolder, OutputFolder = Path.Combine(root, "gan"), MaxRows = 20_000,
            // 5x the GAN default rate: with 400 steps the default 2e-4 still gives noise (measured), 1e-3 gives digit shapes.
            Epochs = 100, MaxSteps = Steps(400), BatchSize = 64, LearningRate = 1e-3, Seed = 1, Threads = threads,
        }, ct);
        rows.Add(("GAN (conditional MLP)", Losses(gan.Summary.FinalLosses), Rel(gan.SamplesPng) + ", " + Rel(gan.ModelFolder), t.Elapsed));

        context.Console.MarkupLine("[bold]3/6 VAE on MNIST[/]");
        t.Restart();
        var vae = TrainCommands.TrainImageModel(context, new ImageModelJobSettings
        {
            Kind = ImageModelKind.Vae, MnistFolder = DatasetPaths.MnistFolder, OutputFolder = Path.Combine(root, "vae"), MaxRows = 20_000,
            Epochs = 100, MaxSteps = Steps(400), BatchSize = 128, Seed = 1, Threads = threads,
        }, ct);
        rows.Add(("VAE (784-400-20)", Losses(vae.Summary.FinalLosses), Rel(vae.SamplesPng) + ", " + Rel(vae.ModelFolder), t.Elapsed));

        context.Console.MarkupLine("[bold]4/6 char GPT on Tiny Shakespeare → ONNX[/]");
        t.Restart();
        var gpt = TrainCommands.TrainLanguageModel(context, new LanguageModelJobSettings
        {
            Kind = LanguageModelKind.Gpt, CorpusPath = DatasetPaths.TinyShakespeareFile, OutputFolder = Path.Combine(root, "char-gpt"),
            Iterations = Steps(500), BatchSize = 12, BlockSize = 64, Layers = 2, Heads = 4, EmbeddingSize = 64, LearningRate = 2e-3,
            EvalInterval = 250, Seed = 1, Threads = threads,
        }, ct);
        if (gpt.Cancelled) throw new OperationCanceledException(ct);
        rows.Add(("char GPT (2 layers, 64 wide)", string.Create(CultureInfo.InvariantCulture, $"val loss {gpt.ValidationLoss:F3} nats/char"),
            Rel(gpt.OnnxFolder!) + ", " + Rel(gpt.LossCurvePng ?? ""), t.Elapsed));

        context.Console.MarkupLine("[bold]5/6 GenerateText pipeline over the ONNX folder[/]");
        t.Restart();
        string[] prompts = ["ROMEO:\n", "First Citizen:\n", "KING HENRY:\n"];
        int context64;
        using (var lm = CausalLM.Load(gpt.OnnxFolder!)) context64 = lm.Config.MaxPositions ?? 64;
        // The model knows 64 positions (its training context): prompt + new characters must fit.
        int room = context64 - prompts.Max(p => p.Length);
        var options = new GenerationOptions { MaxNewTokens = room, MinNewTokens = Math.Min(20, room), DoSample = true, Temperature = 0.8, TopK = 20, Seed = 1, StopSequences = ["\n\n"] };
        var ml = new MLContext(seed: 1);
        var promptView = ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptRow { Prompt = p }));
        var pipeline = ml.Transforms.GenerateText("Completion", "Prompt", gpt.OnnxFolder!, options, batchSize: prompts.Length);
        string[] completions = pipeline.Fit(promptView).Transform(promptView).GetColumn<string>("Completion").ToArray();
        string textFile = Path.Combine(root, "char-gpt", "samples.txt");
        File.WriteAllText(textFile, string.Join("\n\n", prompts.Zip(completions, (p, c) => p + c)));
        for (int i = 0; i < prompts.Length; i++)
            context.Console.Write(new Panel(Markup.Escape(prompts[i] + completions[i])).Header($"prompt {i + 1}").Border(BoxBorder.Rounded));
        rows.Add(("GenerateText pipeline (batched, KV cache)", $"{prompts.Length} prompts, top-k sampling, stop \"\\n\\n\"", Rel(textFile), t.Elapsed));

        context.Console.MarkupLine("[bold]6/6 evaluation[/]");
        t.Restart();
        string all = File.ReadAllText(DatasetPaths.TinyShakespeareFile);
        string heldOut = all[(int)(all.Length * 0.9)..][..4000];
        var ppl = EvaluationJob.Perplexity(gpt.OnnxFolder!, heldOut, null, ct);
        rows.Add(("perplexity (ONNX, held-out text)", string.Create(CultureInfo.InvariantCulture, $"{ppl.Perplexity:F2} per char over {ppl.Tokens} chars"), "", t.Elapsed));
        t.Restart();
        string classifierPath = File.Exists(EvaluationJob.DefaultClassifierPath) ? EvaluationJob.DefaultClassifierPath : Path.Combine(root, "classifier", "lenet-mnist.onnx");
        using (var classifier = EvaluationJob.LoadOrTrainClassifier(classifierPath, Math.Max(500, Steps(6_000)), context.Error.WriteLine))
        {
            int count = Math.Max(100, Steps(500));
            var g = EvaluationJob.EvaluateImages(gan.ModelFolder, classifier, count);
            var v = EvaluationJob.EvaluateImages(vae.ModelFolder, classifier, count);
            rows.Add(("classifier score (LeNet; real ≈ 9.9)", string.Create(CultureInfo.InvariantCulture,
                $"GAN {g.ClassifierScore:F2} (FID {g.Fid:F1}), VAE {v.ClassifierScore:F2} (FID {v.Fid:F1})"), Rel(classifierPath), t.Elapsed));
        }

        var table = new Table().Border(TableBorder.Rounded).Title($"Aigc.MLNet quickstart — {clock.Elapsed.TotalSeconds:F0} s");
        table.AddColumns("step", "result", "files", "time");
        foreach (var r in rows) table.AddRow(Markup.Escape(r.Step), Markup.Escape(r.Result), Markup.Escape(r.Files), $"{r.Time.TotalSeconds:F0} s");
        context.Console.Write(table);
        string summary = Path.Combine(root, "summary.md");
        File.WriteAllLines(summary, new[] { "| step | result | files | time |", "|---|---|---|---|" }
            .Concat(rows.Select(r => $"| {r.Step} | {r.Result} | {r.Files} | {r.Time.TotalSeconds:F0} s |"))
            .Append("").Append($"Total {clock.Elapsed.TotalSeconds:F0} s. Files under {root}."));
        context.Out.WriteLine($"All files are under {root} (summary: {summary}).");
        return ExitCodes.Success;

        string Rel(string path)
        {
            if (path.Length == 0) return "";
            string relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
            return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
        }
    }

    private sealed class PromptRow
    {
        public string Prompt { get; set; } = "";
    }

    private static string Losses(IReadOnlyDictionary<string, float> losses) =>
        string.Join(", ", losses.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F3}")));
}
