// A consumer of the Aigc.MLNet.Transforms package: exports a small random GPT-2 (GPT-2's BPE vocabulary) with the
// public API, runs mlContext.Transforms.GenerateText over an IDataView, and compares the completions with the engine's.
// Usage: GenerateText VOCAB_JSON MERGES_TXT OUTPUT_FOLDER
// Prints one line per prompt, "<index>\t<token ids of the completion, comma separated>\t<completion text escaped>",
// exits 0 when the pipeline and the engine agree, 3 when they differ.
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

string vocab = args[0], merges = args[1], folder = args[2];
var config = new Gpt2Config { NumLayers = 2, NumHeads = 2, EmbeddingSize = 32, MaxPositions = 128, VocabSize = 50257, BosTokenId = 50256, EosTokenId = 50256 };
Gpt2Exporter.Export(Gpt2Weights.Random(config, seed: 11), Gpt2TokenizerFiles.Bpe(vocab, merges), folder);

string[] prompts = ["The weather today is", "Once upon a time", "ML.NET pipelines"];
var generation = new GenerationOptions { MaxNewTokens = 12 };

var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptRow { Prompt = p }));
var pipeline = ml.Transforms.GenerateText(new GenerateTextOptions
{
    InputColumnName = "Prompt", OutputColumnName = "Completion", ModelPath = folder, Generation = generation, BatchSize = 2,
});
string[] completions = pipeline.Fit(data).Transform(data).GetColumn<string>("Completion").ToArray();

using var model = CausalLM.Load(folder);
var engine = new TextGenerator(model);
bool same = true;
for (int i = 0; i < prompts.Length; i++)
{
    var sequence = engine.Generate(prompts[i], generation)[0];
    same &= sequence.Text == completions[i];
    Console.WriteLine($"{i}\t{string.Join(',', sequence.TokenIds)}\t{Escape(completions[i])}");
}
Console.WriteLine(same ? "pipeline == engine" : "pipeline != engine");
return same ? 0 : 3;

static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\t", "\\t");

public sealed class PromptRow
{
    public string Prompt { get; set; } = "";
}
