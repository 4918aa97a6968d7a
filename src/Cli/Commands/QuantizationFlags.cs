using System.CommandLine;
using Aigc.MLNet.Onnx.Quantization;

namespace Aigc.MLNet.Cli.Commands;

/// <summary>The weight-quantization flags shared by <c>quantize</c>, <c>convert gpt2</c> and <c>train gpt</c>.</summary>
internal sealed class QuantizationFlags
{
    public QuantizationFlags(bool required)
    {
        Bits = new Option<int?>(required ? "--bits" : "--quantize")
        {
            Description = required
                ? "Bits per weight: 4 or 8 (ONNX Runtime MatMulNBits)."
                : "Export with weight-only quantization: 4 or 8 bits per weight (ONNX Runtime MatMulNBits); default fp32.",
            Required = required,
        };
        Bits.OneOf(4, 8);
    }

    /// <summary>--bits (quantize) or --quantize (convert, train).</summary>
    public Option<int?> Bits { get; }

    /// <summary>--block-size.</summary>
    public Option<int> BlockSize { get; } = new Option<int>("--block-size") { Description = "Weights per quantization block along K: 16, 32, 64, 128 or 256 (must divide the model width); 0 = the largest of 128, 64, 32, 16 that divides it.", DefaultValueFactory = _ => 0 }.OneOf(0, 16, 32, 64, 128, 256);

    /// <summary>--accuracy-level.</summary>
    public Option<int> AccuracyLevel { get; } = new Option<int>("--accuracy-level") { Description = "MatMulNBits accuracy_level: 4 (int8 compute, fast on AVX2/AVX-512/NEON) down to 0 (unset: dequantize to fp32, slow).", DefaultValueFactory = _ => 4 }.InRange(0, 4);

    /// <summary>--asymmetric.</summary>
    public Option<bool> Asymmetric { get; } = new("--asymmetric") { Description = "A zero point per block (min/max range) instead of symmetric blocks." };

    /// <summary>--exclude.</summary>
    public Option<string[]> Exclude { get; } = new("--exclude") { Description = "Leave weights fp32: lm_head (the output head and the token embedding it is tied to).", AllowMultipleArgumentsPerToken = true };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Bits, BlockSize, AccuracyLevel, Asymmetric, Exclude }) command.Add(o);
        Exclude.AcceptOnlyFromAmong("lm_head");
    }

    /// <summary>The options the flags ask for, or null without --quantize; validated (usage errors exit 2, naming the flag).</summary>
    public BlockQuantizationOptions? Read(ParseResult parse)
    {
        if (parse.GetValue(Bits) is not int bits) return null;
        var options = new BlockQuantizationOptions
        {
            Bits = bits, BlockSize = parse.GetValue(BlockSize), AccuracyLevel = parse.GetValue(AccuracyLevel), Symmetric = !parse.GetValue(Asymmetric),
            QuantizeHead = !(parse.GetValue(Exclude) ?? []).Contains("lm_head"),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            string flag = e.ParamName switch { "BlockSize" => "--block-size", "AccuracyLevel" => "--accuracy-level", _ => Bits.Name };
            throw new CliException($"{flag}: {e.Message.Split(" (Parameter", 2)[0]}", ExitCodes.Usage);
        }
        return options;
    }
}

/// <summary><c>aigc quantize</c>: a GPT-2 ONNX folder written by aigc to a new folder with MatMulNBits weights.</summary>
internal static class QuantizeCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("quantize", "Quantize a GPT-2 ONNX folder written by aigc (train gpt, convert gpt2) into a new folder: 4- or 8-bit weights for ONNX Runtime's MatMulNBits, the same layout, tokenizer and configs (config.json gains a quantization block).");
        var model = new Option<string>("--model", "-m") { Description = "Source model folder (fp32).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "New folder to write (must not exist).", Required = true };
        var flags = new QuantizationFlags(required: true);
        command.Add(model);
        command.Add(output);
        flags.AddTo(command);
        command.SetAction(parse =>
        {
            var options = flags.Read(parse)!;
            string source = parse.GetValue(model)!, target = parse.GetValue(output)!;
            if (!Directory.Exists(source)) throw new CliException($"--model: '{source}' is not a folder.", ExitCodes.Failure);
            if (Directory.Exists(target) || File.Exists(target)) throw new CliException($"--out: '{target}' already exists; quantize writes a new folder.", ExitCodes.Usage);
            string written;
            try
            {
                written = Gpt2Quantizer.QuantizeFolder(source, target, options);
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException)
            {
                string flag = e is ArgumentException { ParamName: "Quantization" } ? "--block-size" : "--model";
                throw new CliException($"{flag}: {e.Message.Split(" (Parameter", 2)[0]}");
            }
            long before = Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            long after = Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            // The tag in the written file has the block size an automatic setting chose.
            string tag = Aigc.MLNet.Onnx.Proto.OnnxInitializerReader.Read(written).Metadata.GetValueOrDefault("aigc.quantization", options.Tag);
            context.Out.WriteLine($"wrote {written} ({tag}): {after / 1e6:F1} MB, was {before / 1e6:F1} MB");
            return ExitCodes.Success;
        });
        return command;
    }
}
