using System.CommandLine;
using Aigc.MLNet.Cli.Jobs;
using Aigc.MLNet.Onnx.Gpt2;

namespace Aigc.MLNet.Cli.Commands;

/// <summary><c>aigc export onnx</c>: a GPT checkpoint written by <c>aigc train gpt</c> to an ONNX folder.</summary>
internal static class ExportCommands
{
    public static Command Create(CliContext context)
    {
        var export = new Command("export", "Export trained models.");
        var onnx = new Command("onnx", "Export a GPT checkpoint folder (written by 'aigc train gpt') to an ONNX folder with its tokenizer. (GAN/VAE training already writes ONNX.)");
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder (<train --out>/checkpoint).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output ONNX folder.", Required = true };
        var layout = new Option<Gpt2OnnxLayout>("--layout") { Description = "ONNX layout.", DefaultValueFactory = _ => Gpt2OnnxLayout.Optimum };
        onnx.Add(checkpoint);
        onnx.Add(output);
        onnx.Add(layout);
        onnx.SetAction(parse =>
        {
            string folder = LanguageModelJob.ExportOnnx(parse.GetValue(checkpoint)!, parse.GetValue(output)!, parse.GetValue(layout));
            context.Out.WriteLine($"wrote {folder}");
            return ExitCodes.Success;
        });
        export.Add(onnx);
        return export;
    }
}
