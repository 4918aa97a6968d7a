// GenerateText through the IDataView path vs the engine directly, on the same prompts and model.
// Usage: dotnet run -c Release --project bench/TextPipeline -- [layers=4] [width=256] [prompts=64] [newTokens=32]
// The model is a random-weight GPT-2 (BPE vocabulary) written once under $AIGC_DATA_DIR/bench.
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

int layers = Arg(0, 4), width = Arg(1, 256), promptCount = Arg(2, 64), newTokens = Arg(3, 32);
string folder = Path.Combine(DatasetPaths.Root, "bench", $"gpt2-random-{layers}x{width}");
if (!File.Exists(Path.Combine(folder, "onnx", "model.onnx")))
{
    var config = new Gpt2Config { NumLayers = layers, NumHeads = Math.Max(1, width / 64), EmbeddingSize = width, MaxPositions = 1024 };
    Gpt2Exporter.Export(Gpt2Weights.Random(config, seed: 1), Gpt2TokenizerFiles.Bpe(DatasetPaths.Gpt2VocabFile, DatasetPaths.Gpt2MergesFile), folder);
}

string[] prompts = File.ReadLines(DatasetPaths.TinyShakespeareFile).Where(l => l.Length > 10).Take(promptCount).ToArray();
// MinNewTokens = MaxNewTokens so every row generates exactly newTokens tokens (random weights may emit EOS).
var generation = new GenerationOptions { MaxNewTokens = newTokens, MinNewTokens = newTokens };
long totalTokens = (long)prompts.Length * newTokens;
var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(prompts.Select(p => new Row { Prompt = p }).ToArray());
using var lm = CausalLM.Load(folder);
var generator = new TextGenerator(lm);

Console.WriteLine($"model {layers}x{width}, {prompts.Length} prompts x {newTokens} new tokens, {Environment.ProcessorCount} cores");
Console.WriteLine("| path | batch | tokens/s | ratio to engine |");
Console.WriteLine("| --- | --- | --- | --- |");
foreach (int batch in new[] { 1, 8 })
{
    var model = ml.Transforms.GenerateText("Completion", "Prompt", folder, generation, batch).Fit(data);
    // Warm-up both paths once.
    generator.GenerateTokens(prompts.Take(batch).Select(p => (IReadOnlyList<int>)lm.Tokenizer!.EncodeToIds(p)).ToArray(), generation);
    _ = model.Transform(ml.Data.TakeRows(data, batch)).GetColumn<string>("Completion").ToArray();

    double engine = Best(() =>
    {
        for (int i = 0; i < prompts.Length; i += batch)
            generator.Generate(prompts.Skip(i).Take(batch).ToArray(), generation);
    });
    double pipeline = Best(() => _ = model.Transform(data).GetColumn<string>("Completion").ToArray());
    Console.WriteLine($"| engine directly | {batch} | {totalTokens / engine:F1} | 1.00 |");
    Console.WriteLine($"| GenerateText (IDataView) | {batch} | {totalTokens / pipeline:F1} | {engine / pipeline:F3} |");
}

static double Best(Action run)
{
    double best = double.MaxValue;
    for (int i = 0; i < 3; i++)
    {
        var clock = Stopwatch.StartNew();
        run();
        best = Math.Min(best, clock.Elapsed.TotalSeconds);
    }
    return best;
}

int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;

sealed class Row
{
    public string Prompt { get; set; } = "";
}
