// Language-model training benchmarks (not part of the test run).
//   gpt-rate [steps=200] [warmup=20] [repeats=2]
//       Steps/s of LanguageModelTraining.Run vs a minimal hand-written TorchSharp loop on the same GptModel, nanoGPT's
//       Shakespeare-char CPU configuration (4 layers, 4 heads, 128 wide, block 64, batch 12, dropout 0). The two loops
//       alternate and each keeps its best run, because the machine may be shared.
//   contention [steps=60] [repeats=2]
//       Training on a busy machine: steps/s of LanguageModelTraining.Run (the gpt-rate configuration) alone and with one
//       competing CPU-bound process (`yes > /dev/null`), under libgomp's default spin-then-sleep wait (GOMP_SPINCOUNT=300000)
//       and under the library's default OMP_WAIT_POLICY=PASSIVE, at 2 and 1 torch threads. Each configuration runs in a
//       fresh child process (libgomp reads its environment once); the final loss shows results do not depend on the policy.
//   lstm-shakespeare [steps=2000] [hidden=256] [layers=2] [evalInterval=250]
//       LstmTrainer (ML.NET estimator) on Tiny Shakespeare, 90/10 split: validation loss after the steps, wall time, and a
//       sampled continuation served by GenerateText from the exported ONNX folder.
// Usage: dotnet run -c Release --project bench/LanguageModels -- <command> [args]
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

string command = args.Length > 0 ? args[0] : "gpt-rate";
int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
if (command == "gpt-steps")
{
    // Child of `contention`: prints "<steps/s> <final loss>" and nothing else on stdout.
    Aigc.MLNet.Trainers.Native.TorchRuntime.Initialize();
    if (Arg(2, 0) > 0) torch.set_num_threads(Arg(2, 0));
    GptSteps(Arg(1, 60));
    return 0;
}
if (command == "contention")
{
    Contention(Arg(1, 60), Arg(2, 2));
    return 0;
}
Console.WriteLine($"{command}: {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}");
switch (command)
{
    case "gpt-rate":
        GptRate(Arg(1, 200), Arg(2, 20), Arg(3, 2));
        break;
    case "lstm-shakespeare":
        LstmShakespeare(Arg(1, 2000), Arg(2, 256), Arg(3, 2), Arg(4, 250));
        break;
    default:
        Console.Error.WriteLine("commands: gpt-rate [steps] [warmup] [repeats] | lstm-shakespeare [steps] [hidden] [layers] [evalInterval]");
        return 2;
}
return 0;

static long[] ShakespeareIds(out int vocabSize)
{
    string text = File.ReadAllText(DatasetPaths.TinyShakespeareFile);
    var tokenizer = CharTokenizer.FromCorpus(text);
    vocabSize = tokenizer.VocabularySize;
    return tokenizer.EncodeToIds(text).Select(i => (long)i).ToArray();
}

static void GptRate(int steps, int warmup, int repeats)
{
    long[] ids = ShakespeareIds(out int vocab);
    long[] train = ids[..(int)(ids.Length * 0.9)];
    var config = new Gpt2Config { NumLayers = 4, NumHeads = 4, EmbeddingSize = 128, MaxPositions = 64, VocabSize = vocab, BosTokenId = 0, EosTokenId = 0 };
    const int Batch = 12, Block = 64;
    var settings = new LanguageModelTrainingSettings
    {
        BatchSize = Batch, BlockSize = Block, MaxIterations = steps, EvalInterval = 0, Seed = 1337,
        Schedule = new WarmupCosineSchedule(1e-3, 1e-4, 100, 2000), WeightDecay = 0.1, Beta2 = 0.99, GradientClip = 1.0,
    };

    double Library(int n)
    {
        torch.manual_seed(1337);
        using var model = new GptModel(config);
        settings.MaxIterations = n;
        var clock = Stopwatch.StartNew();
        LanguageModelTraining.Run(model, train, null, settings);
        return n / clock.Elapsed.TotalSeconds;
    }

    // The minimal loop a TorchSharp user would write: same model, optimiser groups, schedule, batches and clipping.
    double Hand(int n)
    {
        torch.manual_seed(1337);
        using var model = new GptModel(config);
        var decay = model.parameters().Where(p => p.dim() >= 2).ToList();
        var noDecay = model.parameters().Where(p => p.dim() < 2).ToList();
        using var optimizer = torch.optim.AdamW(
            [new AdamW.ParamGroup(decay, new AdamW.Options { weight_decay = 0.1 }), new AdamW.ParamGroup(noDecay, new AdamW.Options { weight_decay = 0 })],
            lr: 1e-3, beta1: 0.9, beta2: 0.99);
        using var data = torch.tensor(train);
        using var offsets = torch.arange(Block, dtype: ScalarType.Int64).unsqueeze(0);
        using var generator = new torch.Generator(1337);
        var schedule = settings.Schedule;
        model.train();
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < n; step++)
        {
            foreach (var group in optimizer.ParamGroups)
                group.LearningRate = schedule.At(step);
            using var scope = torch.NewDisposeScope();
            var index = torch.randint(data.shape[0] - Block, [Batch], generator: generator).unsqueeze(1) + offsets;
            optimizer.zero_grad();
            var loss = model.Loss(data[index], data[index + 1]);
            loss.backward();
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
        return n / clock.Elapsed.TotalSeconds;
    }

    Library(warmup);
    Hand(warmup);
    double bestLibrary = 0, bestHand = 0;
    for (int r = 0; r < repeats; r++)
    {
        bestHand = Math.Max(bestHand, Hand(steps));
        bestLibrary = Math.Max(bestLibrary, Library(steps));
        Console.WriteLine($"  repeat {r + 1}: hand {bestHand:F2} steps/s, library {bestLibrary:F2} steps/s (best so far)");
    }
    Console.WriteLine($"GPT 4x4x128, block {Block}, batch {Batch}, vocab {vocab}, {steps} steps x {repeats} repeats (best):");
    Console.WriteLine("| loop | steps/s | ratio |");
    Console.WriteLine("| --- | --- | --- |");
    Console.WriteLine($"| hand-written TorchSharp | {bestHand:F2} | 1.00 |");
    Console.WriteLine($"| LanguageModelTraining.Run | {bestLibrary:F2} | {bestLibrary / bestHand:F3} |");
    Console.WriteLine($"Projected 2000-step wall time (library): {2000 / bestLibrary / 60:F1} min");
}

static void GptSteps(int steps)
{
    long[] ids = ShakespeareIds(out int vocab);
    long[] train = ids[..(int)(ids.Length * 0.9)];
    var config = new Gpt2Config { NumLayers = 4, NumHeads = 4, EmbeddingSize = 128, MaxPositions = 64, VocabSize = vocab, BosTokenId = 0, EosTokenId = 0 };
    var settings = new LanguageModelTrainingSettings
    {
        BatchSize = 12, BlockSize = 64, MaxIterations = 10, EvalInterval = 0, Seed = 1337,
        Schedule = new WarmupCosineSchedule(1e-3, 1e-4, 100, 2000), WeightDecay = 0.1, Beta2 = 0.99, GradientClip = 1.0,
    };
    torch.manual_seed(1337);
    using (var warm = new GptModel(config)) LanguageModelTraining.Run(warm, train, null, settings);
    torch.manual_seed(1337);
    using var model = new GptModel(config);
    settings.MaxIterations = steps;
    var clock = Stopwatch.StartNew();
    var result = LanguageModelTraining.Run(model, train, null, settings);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{steps / clock.Elapsed.TotalSeconds:F3} {result.FinalTrainLoss:R}"));
}

static void Contention(int steps, int repeats)
{
    string self = Environment.ProcessPath!;
    string[] prefix = Path.GetFileNameWithoutExtension(self) == "dotnet" ? [typeof(GptModel).Assembly.Location.Replace("Aigc.MLNet.Trainers.dll", "LanguageModels.dll")] : [];
    (string Name, string? SpinCount, int Threads)[] configs =
    [
        ("libgomp default (spin, then sleep)", "300000", 2),
        ("OMP_WAIT_POLICY=PASSIVE (library default)", null, 2),
        ("GOMP_SPINCOUNT=10000 (short spin)", "10000", 2),
        ("libgomp default, 1 thread", "300000", 1),
        ("PASSIVE, 1 thread", null, 1),
    ];
    Console.WriteLine($"contention: {Environment.ProcessorCount} cores, {steps} steps per run, best of {repeats}; load before: {File.ReadAllText("/proc/loadavg").Trim()}");
    Console.WriteLine("| wait policy | torch threads | alone steps/s | with 1 competitor steps/s | slowdown | final loss alone / contended |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
    foreach (var (name, spin, threads) in configs)
    {
        var alone = Best(spin, threads, competitor: false);
        var busy = Best(spin, threads, competitor: true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {threads} | {alone.Rate:F2} | {busy.Rate:F2} | {alone.Rate / busy.Rate:F2}x | {alone.Loss} / {busy.Loss} |"));
    }

    (double Rate, string Loss) Best(string? spin, int threads, bool competitor)
    {
        double best = 0;
        string loss = "";
        for (int r = 0; r < repeats; r++)
        {
            using var yes = competitor ? Process.Start(new ProcessStartInfo("sh", ["-c", "exec yes > /dev/null"]) { UseShellExecute = false }) : null;
            var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (string a in prefix) start.ArgumentList.Add(a);
            start.ArgumentList.Add("gpt-steps");
            start.ArgumentList.Add(steps.ToString(CultureInfo.InvariantCulture));
            start.ArgumentList.Add(threads.ToString(CultureInfo.InvariantCulture));
            start.Environment.Remove("OMP_WAIT_POLICY");
            if (spin is null) start.Environment.Remove("GOMP_SPINCOUNT"); else start.Environment["GOMP_SPINCOUNT"] = spin;
            using var child = Process.Start(start)!;
            string output = child.StandardOutput.ReadToEnd().Trim();
            child.WaitForExit();
            yes?.Kill();
            var parts = output.Split(' ');
            if (child.ExitCode != 0 || parts.Length != 2) throw new InvalidOperationException($"gpt-steps failed ({child.ExitCode}): {output}");
            best = Math.Max(best, double.Parse(parts[0], CultureInfo.InvariantCulture));
            loss = parts[1];
        }
        return (best, loss);
    }
}

static void LstmShakespeare(int steps, int hidden, int layers, int evalInterval)
{
    var ml = new MLContext(seed: 1);
    // One row holding the whole corpus: LstmTrainer joins rows with '\n', so this keeps the text byte-identical.
    var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = File.ReadAllText(DatasetPaths.TinyShakespeareFile) } });
    string folder = Path.Combine(DatasetPaths.Root, "bench", $"lstm-shakespeare-{layers}x{hidden}-{steps}");
    var progress = new Progress<LanguageModelTrainingProgress>(p =>
    {
        if (p.ValidationLoss is float v)
            Console.WriteLine($"  step {p.Iteration}: train {p.TrainLoss:F4}, validation {v:F4}, {p.TokensPerSecond:F0} tokens/s");
    });
    var trainer = ml.Generative().Trainers.Lstm(new LstmTrainerOptions
    {
        OutputFolder = folder, EmbeddingSize = 64, HiddenSize = hidden, NumLayers = layers, BlockSize = 64, BatchSize = 32,
        MaxIterations = steps, WarmupIterations = Math.Min(100, steps / 10), EvalInterval = evalInterval, EvalIterations = 20,
        ValidationFraction = 0.1, Seed = 1337, Progress = progress,
        Generation = new GenerationOptions { MaxNewTokens = 300, DoSample = true, Temperature = 0.8, TopK = 0, Seed = 1 },
    });
    var clock = Stopwatch.StartNew();
    var model = trainer.Fit(data);
    var trained = clock.Elapsed;
    var result = trainer.LastResult!.Value;
    var prompts = ml.Data.LoadFromEnumerable(new[] { new PromptRow { Prompt = "ROMEO:\n" } });
    clock.Restart();
    string sample = model.Transform(prompts).GetColumn<string>("Completion").Single();
    Console.WriteLine($"LSTM E64 H{hidden} L{layers}, block 64, batch 32, {result.Iterations} steps, seed 1337:");
    Console.WriteLine($"  best validation loss {result.BestValidationLoss:F4}, final train loss {result.FinalTrainLoss:F4}, training wall time {trained.TotalSeconds:F0} s");
    Console.WriteLine($"  exported to {folder}; 300-character sample (temperature 0.8, seed 1) in {clock.Elapsed.TotalSeconds:F1} s:");
    Console.WriteLine("ROMEO:\n" + sample);
}

sealed class TextRow
{
    public string Text { get; set; } = "";
}

sealed class PromptRow
{
    public string Prompt { get; set; } = "";
}
