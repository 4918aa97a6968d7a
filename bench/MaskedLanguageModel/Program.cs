// Masked-LM quality run (not part of the test run).
//   dotnet run -c Release --project bench/MaskedLanguageModel -- [steps=4000] [layers=4] [embedding=128] [batch=32] [lr=2e-3] [pllChunks=100] [seed=1337] [threads=0] [budgetMinutes=0]
// Trains mlContext.Generative().Trainers.MaskedLanguageModel on Tiny Shakespeare (character vocabulary + [MASK], block 64,
// 4 heads, last 10 % held out, BERT masking 15 % / 80-10-10), then reports the best validation MLM loss (nats per scored
// character), the pseudo-log-likelihood and pseudo-perplexity of the first `pllChunks` 64-character chunks of the held-out
// text (scored over ONNX Runtime), and FillMask candidates for a few masked lines. threads > 0 sets TorchSharp's CPU threads
// (1 is much faster than 2 on a heavily shared machine). budgetMinutes > 0 stops training after that wall time (at a step
// boundary, with a checkpoint) and exports the model as it is then; the steps reached are printed.
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Trainers.Language.Masked;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Evaluation;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

int Int(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
double Real(int index, double fallback) => args.Length > index ? double.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
int steps = Int(0, 4000), layers = Int(1, 4), embedding = Int(2, 128), batch = Int(3, 32), pllChunks = Int(5, 100), seed = Int(6, 1337);
int threads = Int(7, 0);
double budgetMinutes = Real(8, 0);
if (threads > 0)
    torch.set_num_threads(threads);
double lr = Real(4, 2e-3);
const int Block = 64;
Console.WriteLine($"mlm-shakespeare: {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}, {steps} steps, L{layers} H4 E{embedding}, block {Block}, batch {batch}, lr {lr}, seed {seed}");

string text = File.ReadAllText(DatasetPaths.TinyShakespeareFile);
var ml = new MLContext(seed: 1);
// One row holding the whole corpus: the trainer joins rows with '\n', so the text stays byte-identical.
var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = text } });
string folder = Path.Combine(DatasetPaths.Root, "bench", $"mlm-shakespeare-L{layers}-E{embedding}-B{batch}-{steps}-s{seed}");
using var budget = new CancellationTokenSource();
if (budgetMinutes > 0)
    budget.CancelAfter(TimeSpan.FromMinutes(budgetMinutes));
var clock = Stopwatch.StartNew();
var progress = new Progress<LanguageModelTrainingProgress>(p =>
{
    if (p.ValidationLoss is float v)
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds,6:F0} s  step {p.Iteration}: train {p.TrainLoss:F4}, validation {v:F4}, lr {p.LearningRate:G3}, {p.TokensPerSecond:F0} tokens/s");
});
var options = new MaskedLanguageModelTrainerOptions
{
    OutputFolder = folder, BlockSize = Block, NumLayers = layers, NumHeads = 4, EmbeddingSize = embedding, BatchSize = batch,
    MaxIterations = steps, WarmupIterations = Math.Min(200, steps / 10), LearningRate = lr, MinLearningRate = lr / 10, WeightDecay = 0.01,
    ValidationFraction = 0.1, EvalInterval = 250, EvalIterations = 20, Seed = seed, Progress = progress,
    CheckpointFolder = Path.Combine(folder, "checkpoint"), CheckpointEveryNSteps = 500, Resume = true, CancellationToken = budget.Token,
};
var trainer = ml.Generative().Trainers.MaskedLanguageModel(options);
FillMaskTransformer model;
try
{
    model = trainer.Fit(data);
}
catch (OperationCanceledException e) when (budget.IsCancellationRequested)
{
    // "Training was cancelled before step N of M." — the checkpoint holds N steps; a run of N steps resumes it and only exports.
    int reached = int.Parse(e.Message.Split(' ')[5], CultureInfo.InvariantCulture);
    Console.WriteLine($"budget of {budgetMinutes} min reached at step {reached} of {steps} ({clock.Elapsed.TotalSeconds:F0} s); exporting the model as it is");
    options.MaxIterations = reached;
    options.WarmupIterations = Math.Min(options.WarmupIterations, reached);
    options.CancellationToken = default;
    trainer = ml.Generative().Trainers.MaskedLanguageModel(options);
    model = trainer.Fit(data);
}
var trained = clock.Elapsed;
var result = trainer.LastResult!.Value;
Console.WriteLine($"trained {result.Iterations} steps in {trained.TotalSeconds:F0} s (last line of the log above with a validation loss is the final estimate): best validation MLM loss of the last call {result.BestValidationLoss:F4}");

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
