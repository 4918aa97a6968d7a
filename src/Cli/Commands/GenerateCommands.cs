using System.CommandLine;
using System.Globalization;
using Aigc.MLNet.Cli.Jobs;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Microsoft.ML;

namespace Aigc.MLNet.Cli.Commands;

/// <summary><c>aigc generate text|images</c>.</summary>
internal static class GenerateCommands
{
    public static Command Create(CliContext context)
    {
        var generate = new Command("generate", "Generate text or images with exported ONNX models.");
        generate.Add(Text(context));
        generate.Add(Images(context));
        return generate;
    }

    private static Command Text(CliContext context)
    {
        var command = new Command("text", "Generate text with a GPT-2-style ONNX folder (KV cache, batched prompts). Every Hugging Face generation option is a flag.");
        var model = new Option<string>("--model", "-m") { Description = "ONNX model folder (from 'aigc train gpt', 'aigc convert gpt2', or Optimum).", Required = true };
        var prompt = new Option<string[]>("--prompt", "-p") { Description = $"Prompt; repeat for a batch (at most {MaxPrompts}).", Required = true }.Repeated(1, MaxPrompts);
        var stream = new Option<bool>("--stream") { Description = "Print tokens as they are generated (one prompt, greedy or sampling)." };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = default).", DefaultValueFactory = _ => 0 }.InRange(0, TrainCommands.MaxThreads);
        var flags = new GenerationFlags();
        command.Add(model);
        command.Add(prompt);
        command.Add(stream);
        command.Add(threads);
        flags.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            string folder = parse.GetValue(model)!;
            if (!Directory.Exists(folder) && !File.Exists(folder)) throw new CliException($"--model: '{folder}' does not exist.");
            string config = Path.Combine(folder, "generation_config.json");
            var baseOptions = File.Exists(config) ? GenerationOptions.FromGenerationConfig(config) : null;
            var options = flags.Apply(parse, baseOptions);
            string[] prompts = parse.GetValue(prompt)!.Select(GenerationFlags.Unescape).ToArray();
            using var lm = CausalLM.Load(folder, new CausalLMOptions { IntraOpNumThreads = parse.GetValue(threads) });
            if (lm.Tokenizer is null)
                throw new CliException($"--model: '{folder}' has no tokenizer files (vocab.json + merges.txt, or the character vocab.json 'aigc train' writes); 'generate text' needs them to read the prompt.");
            flags.CheckIds(parse, options, lm.Config.VocabSize, config);
            var generator = new TextGenerator(lm);
            CheckContext(lm, prompts, options);
            if (parse.GetValue(stream))
            {
                if (prompts.Length != 1) throw new CliException("--stream prints one sequence: give exactly one --prompt.", ExitCodes.Usage);
                if (options.NumBeams != 1 || options.NumReturnSequences != 1)
                    throw new CliException("--stream needs --num-beams 1 and --num-return-sequences 1.", ExitCodes.Usage);
                context.Out.Write(prompts[0]);
                await foreach (string delta in generator.GenerateStreamingAsync(prompts[0], options, ct).ConfigureAwait(false))
                {
                    context.Out.Write(delta);
                    context.Out.Flush();
                }
                context.Out.WriteLine();
                return ExitCodes.Success;
            }
            var sequences = generator.Generate(prompts, options, flags.EarlyStoppingRule(parse), ct);
            foreach (var s in sequences)
            {
                if (prompts.Length > 1 || options.NumReturnSequences > 1)
                    context.Out.WriteLine($"--- prompt {s.PromptIndex + 1} ({s.FinishReason}) ---");
                context.Out.WriteLine(prompts[s.PromptIndex] + s.Text);
                if (options.OutputScores && s.TokenLogProbs is not null)
                    context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"score {s.Score:F4}; token log-probs {string.Join(" ", s.TokenLogProbs.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))}"));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Fails early, with the numbers, when prompt + new tokens cannot fit the model's positions.</summary>
    internal static void CheckContext(CausalLM lm, IReadOnlyList<string> prompts, GenerationOptions options)
    {
        // A sliding context window (the default for models trained here) has no such limit.
        if (lm.Config.MaxPositions is not int context || lm.Tokenizer is null || lm.Config.SlidesContext(options)) return;
        int longest = prompts.Max(p => Math.Max(1, lm.Tokenizer.EncodeToIds(p).Count));
        int maxNew;
        try
        {
            maxNew = options.GetMaxNewTokens(longest);
        }
        catch (ArgumentException e)
        {
            throw new CliException(GenerationFlags.InFlags(FailureMessage.For(e)), ExitCodes.Usage);
        }
        long total = (long)longest + maxNew;
        if (total > context)
            throw new CliException(context - longest >= 1
                ? $"the longest prompt ({longest} tokens) plus the new tokens ({maxNew}) exceed the model's context of {context} positions; lower --max-new-tokens to at most {context - longest}, or pass --context-overflow slide to keep generating on the latest tokens."
                : $"the longest prompt ({longest} tokens) fills the model's context of {context} positions; shorten it, or pass --context-overflow slide to keep its last tokens.");
    }

    /// <summary>Most images <c>generate images</c>, <c>evaluate images</c> and <c>train --samples</c> accept (a 10-wide grid 10,000 rows tall).</summary>
    internal const int MaxImages = 100_000;

    /// <summary>Most prompts one <c>generate text</c> call takes.</summary>
    internal const int MaxPrompts = 256;

    private static Command Images(CliContext context)
    {
        var command = new Command("images", "Generate a PNG grid with a GAN or VAE model folder (from 'aigc train gan|vae') through the ML.NET transforms.");
        var model = new Option<string>("--model", "-m") { Description = "Image model folder (holds model.json).", Required = true };
        var count = new Option<int>("--count", "-n") { Description = "Images (a conditional GAN cycles the ten digits).", DefaultValueFactory = _ => 40 }.InRange(1, MaxImages);
        var seed = new Option<int>("--seed") { Description = "Seed: same seed, same images.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out", "-o") { Description = "PNG file to write.", DefaultValueFactory = _ => "samples.png" };
        command.Add(model);
        command.Add(count);
        command.Add(seed);
        command.Add(output);
        command.SetAction((parse, ct) =>
        {
            string folder = parse.GetValue(model)!;
            if (!File.Exists(Path.Combine(folder, "model.json"))) throw new CliException($"--model: '{folder}' holds no model.json (train one with 'aigc train gan|vae').");
            string target = parse.GetValue(output)!;
            if (Directory.Exists(target)) throw new CliException($"--out: '{target}' is a directory; give the PNG file to write.", ExitCodes.Usage);
            string png = ImageModelJob.SaveSamples(new MLContext(seed: 1), folder, target, parse.GetValue(count), parse.GetValue(seed), ct);
            context.Out.WriteLine($"wrote {png}");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
