// Language-model training benchmarks (not part of the test run).
//   gpt-rate [steps=200] [warmup=20] [repeats=2]
//       Steps/s of LanguageModelTraining.Run vs a minimal hand-written TorchSharp loop on the same GptModel, nanoGPT's
//       Shakespeare-char CPU configuration (4 layers, 4 heads, 128 wide, block 64, batch 12, dropout 0). The two loops
//       alternate and each keeps its best run, because the machine may be shared.
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
