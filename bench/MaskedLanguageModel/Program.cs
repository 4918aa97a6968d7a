// Masked-LM quality run (not part of the test run).
//   dotnet run -c Release --project bench/MaskedLanguageModel -- [steps=4000] [layers=4] [embedding=128] [batch=32] [lr=2e-3] [pllChunks=100] [seed=1337]
// Trains mlContext.Generative().Trainers.MaskedLanguageModel on Tiny Shakespeare (character vocabulary + [MASK], block 64,
// 4 heads, last 10 % held out, BERT masking 15 % / 80-10-10), then reports the best validation MLM loss (nats per scored
// character), the pseudo-log-likelihood and pseudo-perplexity of the first `pllChunks` 64-character chunks of the held-out
// text (scored over ONNX Runtime), and FillMask candidates for a few masked lines.
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Trainers.Language.Masked;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Evaluation;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

int Int(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
double Real(int index, double fallback) => args.Length > index ? double.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
int steps = Int(0, 4000), layers = Int(1, 4), embedding = Int(2, 128), batch = Int(3, 32), pllChunks = Int(5, 100), seed = Int(6, 1337);
double lr = Real(4, 2e-3);
const int Block = 64;
Console.WriteLine($"mlm-shakespeare: {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}, {steps} steps, L{layers} H4 E{embedding}, block {Block}, batch {batch}, lr {lr}, seed {seed}");

string text = File.ReadAllText(DatasetPaths.TinyShakespeareFile);
var ml = new MLContext(seed: 1);
// One row holding the whole corpus: the trainer joins rows with '\n', so the text stays byte-identical.
var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = text } });
string folder = Path.Combine(DatasetPaths.Root, "bench", $"mlm-shakespeare-L{layers}-E{embedding}-{steps}-s{seed}");
var clock = Stopwatch.StartNew();
var progress = new Progress<LanguageModelTrainingProgress>(p =>
{
    if (p.ValidationLoss is float v)
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds,6:F0} s  step {p.Iteration}: train {p.TrainLoss:F4}, validation {v:F4}, lr {p.LearningRate:G3}, {p.TokensPerSecond:F0} tokens/s");
});
var trainer = ml.Generative().Trainers.MaskedLanguageModel(new MaskedLanguageModelTrainerOptions
{
    OutputFolder = folder, BlockSize = Block, NumLayers = layers, NumHeads = 4, EmbeddingSize = embedding, BatchSize = batch,
    MaxIterations = steps, WarmupIterations = Math.Min(200, steps / 10), LearningRate = lr, MinLearningRate = lr / 10, WeightDecay = 0.01,
    ValidationFraction = 0.1, EvalInterval = 250, EvalIterations = 20, Seed = seed, Progress = progress,
    CheckpointFolder = Path.Combine(folder, "checkpoint"), CheckpointEveryNSteps = 500, Resume = true,
});
var model = trainer.Fit(data);
var trained = clock.Elapsed;
var result = trainer.LastResult!.Value;
Console.WriteLine($"trained {result.Iterations} steps in {trained.TotalSeconds:F0} s: best validation MLM loss {result.BestValidationLoss:F4}, final train loss {result.FinalTrainLoss:F4}");

// Pseudo-perplexity on the held-out text (the trainer holds out the last 10 % of the characters).
string validation = text[(text.Length - (int)(text.Length * 0.1))..];
var chunks = Enumerable.Range(0, Math.Min(pllChunks, validation.Length / Block)).Select(i => new TextRow { Text = validation.Substring(i * Block, Block) }).ToArray();
using var lm = MaskedLM.Load(folder);
clock.Restart();
var pll = ml.GenerativeEvaluation().EvaluatePseudoLogLikelihood(ml.Data.LoadFromEnumerable(chunks), lm);
Console.WriteLine($"pseudo-log-likelihood over {pll.RowCount} held-out chunks ({pll.TokenCount} characters): PLL {pll.PseudoLogLikelihood:F1}, " +
    $"mean NLL {pll.MeanNll:F4} nats/char, pseudo-perplexity {pll.PseudoPerplexity:F3} ({clock.Elapsed.TotalSeconds:F1} s over ONNX Runtime)");

string[] probes =
[
    "ROMEO:\nWhat light through yonder w[MASK]ndow breaks?",
    "KING RICHARD III:\nNow is the winter of our disc[MASK]ntent",
    "We are accounted poor citizens, the patr[MASK]cians good.",
    "To be, or not to be, that is the qu[MASK]stion.",
];
var filled = model.Transform(ml.Data.LoadFromEnumerable(probes.Select(p => new TextRow { Text = p }).ToArray()));
var candidates = filled.GetColumn<string[]>("Candidates").ToArray();
var probabilities = filled.GetColumn<float[]>("Probabilities").ToArray();
for (int i = 0; i < probes.Length; i++)
    Console.WriteLine($"FillMask {probes[i].Replace("\n", "\\n", StringComparison.Ordinal)} -> " +
        string.Join(", ", candidates[i].Zip(probabilities[i], (c, p) => $"'{c.Replace("\n", "\\n", StringComparison.Ordinal)}' {p:F3}")));
return 0;

sealed class TextRow
{
    public string Text { get; set; } = "";
}
