// Generation past the context window: what sliding costs. A GPT-2-shaped character model (the quickstart's shape by
// default: 4 layers, 4 heads, 128 wide, n_positions 64, vocabulary 66; random weights: speed does not depend on them)
// generates --new-tokens tokens greedily at batch 1 and 4, once per stride. The baseline is the cost of a decode step
// inside the window; "per slide" is the extra time of a run over the steps it would take without slides, divided by
// its slides, i.e. the price of re-reading the cropped window (one prefill of n_positions - stride + 1 tokens).
// Usage: dotnet run -c Release --project bench/ContextWindow [-- --new-tokens 400 --layers 4 --width 128 --block 64 --repeats 3 --threads 0]
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;

int newTokens = Arg("--new-tokens", 400);
int layers = Arg("--layers", 4);
int width = Arg("--width", 128);
int block = Arg("--block", 64);
int repeats = Arg("--repeats", 3);
int threads = Arg("--threads", 0);

string folder = Path.Combine(Path.GetTempPath(), $"aigc-bench-window-{layers}x{width}x{block}");
var config = new Gpt2Config { NumLayers = layers, NumHeads = 4, EmbeddingSize = width, MaxPositions = block, VocabSize = 66, BosTokenId = 65, EosTokenId = 65 };
var weights = Gpt2Weights.Random(config, seed: 1);
Directory.CreateDirectory(Path.Combine(folder, "onnx"));
new Gpt2GraphBuilder(weights).Build(Gpt2OnnxLayout.Optimum).Save(Path.Combine(folder, "onnx", "model.onnx"));
config.Save(Path.Combine(folder, "config.json"));

using var model = CausalLM.Load(folder, new CausalLMOptions { IntraOpNumThreads = threads, LoadTokenizer = false });
var generator = new TextGenerator(model);
var rng = new Random(3);
int[] Prompt() => Enumerable.Range(0, 8).Select(_ => rng.Next(65)).ToArray();

Console.WriteLine($"{DateTime.UtcNow:u}, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}");
Console.WriteLine($"model {layers} layers x {width} wide, n_positions {block}; {newTokens} new tokens after an 8-token prompt; best of {repeats}");

// Decode cost inside the window: 48 tokens never reach n_positions.
double Seconds(int batch, GenerationOptions options)
{
    var prompts = Enumerable.Range(0, batch).Select(_ => (IReadOnlyList<int>)Prompt()).ToArray();
    generator.GenerateTokens(prompts, options); // warm-up
    double best = double.MaxValue;
    for (int r = 0; r < repeats; r++)
    {
        var clock = Stopwatch.StartNew();
        var result = generator.GenerateTokens(prompts, options);
        best = Math.Min(best, clock.Elapsed.TotalSeconds);
        if (result.Any(s => s.TokenIds.Count != options.MaxNewTokens)) throw new InvalidOperationException("a row stopped early");
    }
    return best;
}

Console.WriteLine("| batch | stride | slides | tokens/s | ms per token | extra ms per slide |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
foreach (int batch in new[] { 1, 4 })
{
    int inside = block - 8 - 1;
    double baseline = Seconds(batch, new GenerationOptions { MaxNewTokens = inside, EosTokenIds = [], ContextOverflow = ContextOverflow.Stop }) / inside;
    Console.WriteLine(F($"| {batch} | (inside the window, {inside} tokens) | 0 | {batch / baseline:F0} | {baseline * 1000:F2} | |"));
    foreach (int stride in new[] { 1, 4, block / 4, block / 2, block - 1 })
    {
        var options = new GenerationOptions { MaxNewTokens = newTokens, EosTokenIds = [], ContextOverflow = ContextOverflow.SlideWindow, ContextSlideStride = stride };
        double s = Seconds(batch, options);
        // Slides: the sequence passes n_positions after block - 8 tokens, then one slide every stride tokens.
        int slides = 0;
        for (int length = 8, start = 0, generated = 0; generated < newTokens - 1; generated++, length++)   // the last token is never fed
            if (length + 1 - start > block) { start = length + 1 - (block - stride + 1); slides++; }
        double extra = slides == 0 ? 0 : (s - newTokens * baseline) / slides;
        Console.WriteLine(F($"| {batch} | {stride} | {slides} | {batch * newTokens / s:F0} | {s / newTokens * 1000:F2} | {extra * 1000:F1} |"));
    }
}
return 0;

static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
