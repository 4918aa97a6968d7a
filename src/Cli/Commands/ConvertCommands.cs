using System.CommandLine;
using Aigc.MLNet.Onnx.Gpt2;

namespace Aigc.MLNet.Cli.Commands;

/// <summary><c>aigc convert gpt2</c>: a GPT-2 safetensors checkpoint to an ONNX folder the generator runs.</summary>
internal static class ConvertCommands
{
    public static Command Create(CliContext context)
    {
        var convert = new Command("convert", "Convert checkpoints of other tools to ONNX folders.");
        var gpt2 = new Command("gpt2", "Convert a GPT-2 checkpoint (model.safetensors, or a Hugging Face folder with config.json, vocab.json, merges.txt) to an ONNX folder.");
        var safetensors = new Option<string>("--safetensors") { Description = "A model.safetensors file or a Hugging Face GPT-2 folder.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output ONNX folder.", Required = true };
        var config = new Option<string?>("--config") { Description = "config.json (default: beside the safetensors file)." };
        var vocab = new Option<string?>("--vocab") { Description = "vocab.json (default: beside the safetensors file)." };
        var merges = new Option<string?>("--merges") { Description = "merges.txt (default: beside the safetensors file)." };
        var layout = new Option<Gpt2OnnxLayout>("--layout") { Description = "ONNX layout: Optimum (model.onnx + KV cache), OptimumMergedLegacy or OnnxRuntimeGpt2.", DefaultValueFactory = _ => Gpt2OnnxLayout.Optimum };
        foreach (var o in new Option[] { safetensors, output, config, vocab, merges, layout }) gpt2.Add(o);
        var quantization = new QuantizationFlags(required: false);
        quantization.AddTo(gpt2);
        gpt2.SetAction(parse =>
        {
            string source = parse.GetValue(safetensors)!;
            string outFolder = parse.GetValue(output)!;
            var options = new Gpt2ExportOptions { Layout = parse.GetValue(layout), Quantization = quantization.Read(parse) };
            string onnx;
            if (Directory.Exists(source))
            {
                onnx = Gpt2Checkpoint.ConvertFolder(source, outFolder, options);
            }
            else
            {
                if (!File.Exists(source)) throw new CliException($"--safetensors: '{source}' is neither a file nor a folder.");
                string dir = Path.GetDirectoryName(Path.GetFullPath(source))!;
                string vocabPath = parse.GetValue(vocab) ?? Path.Combine(dir, "vocab.json");
                string mergesPath = parse.GetValue(merges) ?? Path.Combine(dir, "merges.txt");
                string configPath = parse.GetValue(config) ?? Path.Combine(dir, "config.json");
                var cfg = File.Exists(configPath) ? Gpt2Config.Load(configPath) : null;
                onnx = Gpt2Checkpoint.Convert(source, Gpt2TokenizerFiles.Bpe(vocabPath, mergesPath), outFolder, cfg, options);
            }
            context.Out.WriteLine($"wrote {onnx}");
            return ExitCodes.Success;
        });
        convert.Add(gpt2);
        return convert;
    }
}
