using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Cli.Jobs;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Images;
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
        var command = new Command("quickstart", "The main job: fetch data, train a conditional DCGAN, a VAE and a char GPT briefly, write PNG grids and the ONNX folder, generate text, evaluate, write report.html and a summary (≈ 5 min on 2 cores).");
        var output = new Option<string>("--out", "-o") { Description = "Output folder.", DefaultValueFactory = _ => Path.Combine("artifacts", "quickstart") };
        var scale = new Option<double>("--scale") { Description = "Multiplies the step counts (0.1 for a smoke test, 3 for better pictures).", DefaultValueFactory = _ => 1.0 }.Positive(max: 100);
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = all).", DefaultValueFactory = _ => 0 }.InRange(0, TrainCommands.MaxThreads);
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
        var rows = new List<QuickstartRow>();
        var pictures = new List<QuickstartPicture>();
        var texts = new List<QuickstartText>();
        int Steps(int n) => Math.Max(2, (int)Math.Round(n * scale));
        string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

        var t = Stopwatch.StartNew();
        if (!DataCommands.DataPresent())
        {
            context.Console.MarkupLine("[bold]1/7 fetching data[/]");
            int code = await DataCommands.Fetch(context, null, ct).ConfigureAwait(false);
            if (code != 0) throw new CliException("data fetch failed (see above); run 'bash eng/fetch-data.sh' to retry.");
        }
        rows.Add(new("data", "MNIST + Tiny Shakespeare ready", t.Elapsed));

        context.Console.MarkupLine("[bold]2/7 conditional DCGAN on MNIST[/]");
        t.Restart();
        // A projection discriminator and a high learning rate (docs/RESULTS.md): classifier score 9.20 and FID 36.5 in 800 steps.
        var gan = TrainCommands.TrainImageModel(context, new ImageModelJobSettings
        {
            Kind = ImageModelKind.Gan, Architecture = GanArchitecture.Dcgan, MnistFolder = DatasetPaths.MnistFolder, OutputFolder = Path.Combine(root, "gan"),
            MaxRows = 0, Epochs = 100, MaxSteps = Steps(GanSteps), BatchSize = 64, LatentSize = 64, RealLabel = 0.9,
            DiscriminatorConditioning = DiscriminatorConditioning.Projection,
            LearningRate = TrainCommands.DcganLearningRate, DiscriminatorLearningRate = TrainCommands.DcganLearningRate / 2,
            SampleCount = 40, Seed = 1, Threads = threads,
        }, ct, root);
        var ganLosses = gan.Summary.FinalLosses;
        rows.Add(new("cond. DCGAN", F($"{gan.Summary.Steps} steps; D {ganLosses["Discriminator"]:F3}, G {ganLosses["Generator"]:F3}"), t.Elapsed));
        pictures.Add(new(gan.SamplesPng, "Conditional DCGAN: 40 samples, the digits 0–9 by column (ONNX generator through GenerateImages)"));
        if (gan.LossCurvePng is not null) pictures.Add(new(gan.LossCurvePng, "DCGAN losses"));

        context.Console.MarkupLine("[bold]3/7 VAE on MNIST[/]");
        t.Restart();
        // 784-1024-20 with a cosine learning rate from 2e-3 over two epochs: test NELBO 108.1 in 35 s here (docs/RESULTS.md).
        int vaeSteps = Steps(VaeSteps);
        var vae = TrainCommands.TrainImageModel(context, new ImageModelJobSettings
        {
            Kind = ImageModelKind.Vae, MnistFolder = DatasetPaths.MnistFolder, OutputFolder = Path.Combine(root, "vae"), MaxRows = 0,
            Epochs = Math.Max(1, (int)Math.Round(vaeSteps / 938.0)), MaxSteps = vaeSteps, BatchSize = 64, LearningRate = 2e-3,
            HiddenSize = 1024, HiddenLayers = 1, Schedule = LearningRateSchedule.Cosine, SampleCount = 40, Seed = 1, Threads = threads,
        }, ct, root);
        rows.Add(new("VAE 784-1024-20", F($"{vae.Summary.Steps} steps; train NELBO {vae.Summary.FinalLosses["Nelbo"]:F1}"), t.Elapsed));
        pictures.Add(new(vae.SamplesPng, "VAE: 40 samples decoded from the prior"));
        string interpolation = Path.Combine(root, "vae", "interpolation.png");
        var test = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Test, 20);
        LatentInterpolation.SaveStrip(interpolation, vae.ModelFolder, test.Pixels.AsSpan(3 * 784, 784).ToArray(), test.Pixels.AsSpan(2 * 784, 784).ToArray(), steps: 10);
        pictures.Add(new(interpolation, "VAE: a straight line in latent space between two test digits"));
        if (vae.LossCurvePng is not null) pictures.Add(new(vae.LossCurvePng, "VAE losses"));

        context.Console.MarkupLine("[bold]4/7 char GPT on Tiny Shakespeare → ONNX[/]");
        t.Restart();
        // nanoGPT's CPU configuration (4 layers, 4 heads, 128 wide, block 64), fewer steps at a higher peak rate.
        int gptSteps = Steps(GptSteps);
        var gpt = TrainCommands.TrainLanguageModel(context, new LanguageModelJobSettings
        {
            Kind = LanguageModelKind.Gpt, CorpusPath = DatasetPaths.TinyShakespeareFile, OutputFolder = Path.Combine(root, "char-gpt"),
            Iterations = gptSteps, BatchSize = 12, BlockSize = 64, Layers = 4, Heads = 4, EmbeddingSize = 128, LearningRate = 3e-3,
            EvalInterval = Math.Max(1, gptSteps / 4), Seed = 1337, Threads = threads,
        }, ct, root);
        if (gpt.Cancelled) throw new OperationCanceledException(ct);
        rows.Add(new("char GPT 4x128", F($"{gpt.Iterations} steps; val loss {gpt.ValidationLoss:F3} nats/char"), t.Elapsed));
        if (gpt.LossCurvePng is not null) pictures.Add(new(gpt.LossCurvePng, "char GPT: training and validation loss (nats per character)"));

        context.Console.MarkupLine("[bold]5/7 GenerateText pipeline over the ONNX folder[/]");
        t.Restart();
        string[] prompts = ["ROMEO:\n", "First Citizen:\n", "KING HENRY:\n"];
        var options = new GenerationOptions { MaxNewTokens = 120, DoSample = true, Temperature = 0.8, TopK = 20, Seed = 1, StopSequences = ["\n\n"] };
        var ml = new MLContext(seed: 1);
        var promptView = ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptRow { Prompt = p }));
        var pipeline = ml.Transforms.GenerateText("Completion", "Prompt", gpt.OnnxFolder!, options, batchSize: prompts.Length);
        string[] completions = pipeline.Fit(promptView).Transform(promptView).GetColumn<string>("Completion").ToArray();
        // 400 characters in one go: past the 64-character context the window slides over the latest characters.
        var longOptions = new GenerationOptions { MaxNewTokens = LongSampleLength, DoSample = true, Temperature = 0.8, TopK = 20, Seed = 7 };
        string longSample;
        using (var lm = CausalLM.Load(gpt.OnnxFolder!)) longSample = new TextGenerator(lm).GenerateText("ROMEO:\n", longOptions);
        string textFile = Path.Combine(root, "char-gpt", "samples.txt");
        AtomicFile.WriteAllText(textFile, string.Join("\n\n", prompts.Zip(completions, (p, c) => p + c)) + "\n\n--- 400 characters ---\nROMEO:\n" + longSample + "\n");
        for (int i = 0; i < prompts.Length; i++)
        {
            context.Console.Write(new Panel(Markup.Escape(prompts[i] + completions[i])).Header($"prompt {i + 1}").Border(BoxBorder.Rounded));
            texts.Add(new($"GenerateText pipeline, prompt {i + 1} (temperature 0.8, top-k 20, stop at a blank line)", prompts[i] + completions[i]));
        }
        context.Console.Write(new Panel(Markup.Escape("ROMEO:\n" + longSample)).Header($"{LongSampleLength} characters").Border(BoxBorder.Rounded));
        texts.Add(new($"{LongSampleLength} new characters in one call (the 64-character context window slides)", "ROMEO:\n" + longSample));
        rows.Add(new("GenerateText", F($"{prompts.Length} prompts + {LongSampleLength} chars"), t.Elapsed));

        context.Console.MarkupLine("[bold]6/7 evaluation[/]");
        t.Restart();
        string all = File.ReadAllText(DatasetPaths.TinyShakespeareFile);
        string heldOut = all[(int)(all.Length * 0.9)..][..4000];
        var ppl = EvaluationJob.Perplexity(gpt.OnnxFolder!, heldOut, null, ct);
        var (bleu, chrf, lines) = EvaluationJob.ContinuationScores(gpt.OnnxFolder!, heldOut);
        rows.Add(new("ppl / BLEU / chrF", F($"{ppl.Perplexity:F2} / {bleu.Score:F1} / {chrf.Score:F1} ({lines} lines)"), t.Elapsed));
        t.Restart();
        var nelbo = EvaluationJob.VaeTestNelbo(vae.ModelFolder, rows: 2000);
        rows.Add(new("VAE test NELBO", F($"{nelbo.Nelbo:F1} (BCE {nelbo.ReconstructionBce:F1} + KL {nelbo.Kl:F1}) nats"), t.Elapsed));
        t.Restart();
        // The fixed judge shipped with aigc (LeNet, 99.14 %): scores compare across runs and machines, as FID's Inception does.
        using (var classifier = EvaluationJob.LoadJudge())
        {
            int count = Math.Max(100, Steps(1000));
            var g = EvaluationJob.EvaluateImages(gan.ModelFolder, classifier, count);
            var v = EvaluationJob.EvaluateImages(vae.ModelFolder, classifier, count);
            rows.Add(new("classifier score", F($"GAN {g.ClassifierScore:F2}, VAE {v.ClassifierScore:F2} (real ≈ 9.9)"), t.Elapsed));
            rows.Add(new("FID vs MNIST test", F($"GAN {g.Fid:F1}, VAE {v.Fid:F1}"), TimeSpan.Zero));
        }

        context.Console.MarkupLine("[bold]7/7 report[/]");
        string subtitle = F($"{Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {clock.Elapsed.TotalSeconds:F0} s in total (scale {scale})");
        string report = QuickstartReport.Write(Path.Combine(root, "report.html"), "Aigc.MLNet quickstart", subtitle, rows, pictures, texts);

        // The terminal summary fits 80 columns: short cells, and paths relative to the output folder.
        var table = new Table().Border(TableBorder.Rounded).Title(F($"Aigc.MLNet quickstart — {clock.Elapsed.TotalSeconds:F0} s"));
        table.AddColumns("step", "result", "time");
        foreach (var r in rows) table.AddRow(Markup.Escape(r.Step), Markup.Escape(r.Result), r.Time == TimeSpan.Zero ? "" : F($"{r.Time.TotalSeconds:F0} s"));
        context.Console.Write(table);
        string summary = Path.Combine(root, "summary.md");
        AtomicFile.WriteAllText(summary, string.Join("\n", new[] { "| step | result | time |", "|---|---|---|" }
            .Concat(rows.Select(r => F($"| {r.Step} | {r.Result} | {r.Time.TotalSeconds:F0} s |")))
            .Append("").Append(F($"Total {clock.Elapsed.TotalSeconds:F0} s.")).Append("")));
        context.Out.WriteLine($"Files under {root}:");
        foreach (string file in new[] { report, summary, gan.SamplesPng, gan.ModelFolder, vae.SamplesPng, interpolation, gpt.OnnxFolder!, textFile })
            context.Out.WriteLine("  " + Path.GetRelativePath(root, file));
        context.Out.WriteLine("Open report.html in a browser for the pictures, texts and figures.");
        return ExitCodes.Success;
    }

    /// <summary>Conditional DCGAN steps at scale 1.</summary>
    internal const int GanSteps = 800;

    /// <summary>VAE steps at scale 1 (batch 64): two epochs of the 60,000 images.</summary>
    internal const int VaeSteps = 1876;

    /// <summary>Char GPT steps at scale 1.</summary>
    internal const int GptSteps = 1200;

    /// <summary>Characters of the long sample.</summary>
    internal const int LongSampleLength = 400;

    private sealed class PromptRow
    {
        public string Prompt { get; set; } = "";
    }
}
