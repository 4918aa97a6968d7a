using System.CommandLine;
using Aigc.MLNet.Cli.Jobs;

namespace Aigc.MLNet.Cli.Commands;

/// <summary><c>aigc export onnx</c>: a checkpoint written by <c>aigc train gpt|lstm</c> to an ONNX folder.</summary>
internal static class ExportCommands
{
    public static Command Create(CliContext context)
    {
        var export = new Command("export", "Export trained models.");
        var onnx = new Command("onnx", "Export a checkpoint folder written by 'aigc train gpt|lstm' (e.g. a stopped run's) to an ONNX folder with its tokenizer. Training already writes <out>/onnx; for other GPT-2 layouts use 'aigc convert gpt2'.");
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder (<train --out>/checkpoint).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output ONNX folder.", Required = true };
        onnx.Add(checkpoint);
        onnx.Add(output);
        onnx.SetAction(parse =>
        {
            string folder = LanguageModelJob.ExportOnnx(parse.GetValue(checkpoint)!, parse.GetValue(output)!);
            context.Out.WriteLine($"wrote {folder}");
            return ExitCodes.Success;
        });
        export.Add(onnx);
        return export;
    }
}
