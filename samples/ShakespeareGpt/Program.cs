// Character-level GPT on Tiny Shakespeare with nanoGPT's CPU configuration (4 layers, 4 heads, 128 wide, block 64,
// batch 12, 2000 iterations, dropout 0, cosine learning rate to a tenth of the peak, warm-up 100, AdamW β2 0.99, weight decay 0.1,
// clip 1.0, 90/10 split), trained through mlContext.Generative().Trainers.Gpt, exported to ONNX and sampled through
// the GenerateText transform.
// Usage: dotnet run -c Release --project samples/ShakespeareGpt -- [iterations=2000] [outputFolder] [seed=1337] [learningRate=3e-3] [chars|bpe]
// (bpe: GPT-2's byte-level BPE vocabulary instead of the text's characters; the model then has 50,257 tokens.)
// (nanoGPT uses 1e-3; 3e-3 reaches a lower validation loss in the same 2,000 steps here, see docs/RESULTS.md.)
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

int iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
string output = args.Length > 1 ? args[1] : Path.Combine(DatasetPaths.Root, "models", "shakespeare-char-gpt");
int seed = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1337;
double learningRate = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 3e-3;
bool bpe = args.Length > 4 && args[4] == "bpe";

var ml = new MLContext(seed: seed);
var corpus = ml.Data.LoadTextCorpus(DatasetPaths.TinyShakespeareFile, TextCorpusUnit.Document);
var progress = new Progress();
var trainer = ml.Generative().Trainers.Gpt(new GptTrainerOptions
{
    OutputFolder = output,
    Vocabulary = bpe ? LanguageModelVocabulary.Gpt2Bpe : LanguageModelVocabulary.Characters,
    Gpt2VocabularyFolder = bpe ? Path.GetDirectoryName(DatasetPaths.Gpt2VocabFile) : null,
    MaxIterations = iterations,
    LearningRate = learningRate,
    MinLearningRate = learningRate / 10,
    Seed = seed,
    Progress = progress,
    Generation = new GenerationOptions { MaxNewTokens = bpe ? 60 : 200, DoSample = true, Temperature = 0.8, TopK = 200, Seed = seed },
});
var clock = Stopwatch.StartNew();
var model = trainer.Fit(corpus);
var trained = clock.Elapsed;
var result = trainer.LastResult!.Value;

var prompts = ml.Data.LoadFromEnumerable(new[] { new PromptRow { Prompt = "ROMEO:" } });
string sample = model.Transform(prompts).GetColumn<string>("Completion").Single();
Console.WriteLine();
Console.WriteLine($"iterations {result.Iterations}, final train loss {result.FinalTrainLoss:F4}, best validation loss {result.BestValidationLoss:F4}");
Console.WriteLine($"training wall time {trained.TotalSeconds:F1} s ({result.Elapsed.TotalSeconds:F1} s in the loop), {Environment.ProcessorCount} cores, seed {seed}, learning rate {learningRate:G3}");
Console.WriteLine($"model folder: {output}");
Console.WriteLine("sample (ROMEO:, temperature 0.8, top-k 200):");
Console.WriteLine("ROMEO:" + sample);

sealed class PromptRow
{
    public string Prompt { get; set; } = "";
}

sealed class Progress : IProgress<LanguageModelTrainingProgress>
{
    public void Report(LanguageModelTrainingProgress p)
    {
        if (p.ValidationLoss is float v)
            Console.WriteLine($"step {p.Iteration}: train {p.TrainLoss:F4} val {v:F4} lr {p.LearningRate:G3} {p.TokensPerSecond:F0} tok/s");
    }
}
