using System.Diagnostics;
using System.Text.Json;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;

namespace Aigc.MLNet.Bench.Peers;

/// <summary>A prompt row for the GenerateText prediction engine.</summary>
public sealed class SoakPrompt
{
    /// <summary>The prompt text.</summary>
    public string Prompt { get; set; } = "";
}

/// <summary>A completion row from the GenerateText prediction engine.</summary>
public sealed class SoakCompletion
{
    /// <summary>The generated text.</summary>
    public string Completion { get; set; } = "";
}

/// <summary>The soak, in a child process of its own so RSS at start is not inflated by earlier parts of the run.</summary>
internal static class SoakRun
{
    private const string FileName = "soak.json";

    /// <summary>Starts this program again with --soak-only and reads the result it writes.</summary>
    public static SoakResult InChildProcess(BenchSettings s, IEnumerable<string> originalArgs)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            psi.ArgumentList.Add(typeof(SoakRun).Assembly.Location);
        foreach (var a in originalArgs) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--soak-only");
        string file = Path.Combine(s.Output, FileName);
        if (File.Exists(file)) File.Delete(file);
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("The soak process did not start.");
        child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0 || !File.Exists(file))
            return new SoakResult(s.SoakModel, s.SoakRoute, 0, 0, s.SoakNewTokens, [], double.NaN, double.NaN, 0, $"soak process exited with code {child.ExitCode}");
        return JsonSerializer.Deserialize<SoakResult>(File.ReadAllText(file))!;
    }

    /// <summary>Runs the soak here and writes soak.json.</summary>
    public static SoakResult Run(BenchSettings s, BenchModel model)
    {
        int warmup = Math.Min(s.SoakWarmup, s.SoakGenerations);
        var greedy = new GenerationOptions { MaxNewTokens = s.SoakNewTokens };
        var sampling = new GenerationOptions { MaxNewTokens = s.SoakNewTokens, DoSample = true, TopP = 0.9, Seed = 7 };
        SoakResult result;
        if (s.SoakRoute == "engine")
        {
            CausalLM? lm = null;
            TextGenerator? generator = null;
            result = SoakAndConcurrency.Soak(model.Name, "TextGenerator.GenerateText (engine)", s.SoakGenerations, warmup, s.SoakNewTokens,
                (prompt, i) =>
                {
                    // Loaded inside the measured run, so "start" is the process before any model is loaded.
                    generator ??= new TextGenerator(lm = CausalLM.Load(model.Folder, new CausalLMOptions { IntraOpNumThreads = s.Threads }));
                    return generator.GenerateText(prompt, i % 2 == 0 ? greedy : sampling);
                });
            lm?.Dispose();
        }
        else
        {
            // Two fitted GenerateText transforms (greedy, top-p sampling) behind prediction engines: the per-request service pattern.
            var ml = new MLContext(seed: 1);
            var schemaRow = ml.Data.LoadFromEnumerable(new[] { new SoakPrompt { Prompt = "x" } });
            ITransformer Fit(GenerationOptions g) => ml.Transforms.GenerateText(new GenerateTextOptions
            {
                InputColumnName = nameof(SoakPrompt.Prompt), OutputColumnName = nameof(SoakCompletion.Completion),
                ModelPath = model.Folder, Generation = g, IntraOpNumThreads = s.Threads,
            }).Fit(schemaRow);
            PredictionEngine<SoakPrompt, SoakCompletion>? greedyEngine = null, samplingEngine = null;
            result = SoakAndConcurrency.Soak(model.Name, "ML.NET GenerateText transform via PredictionEngine", s.SoakGenerations, warmup, s.SoakNewTokens,
                (prompt, i) =>
                {
                    // Built inside the measured run, so "start" is the process before any model is loaded.
                    greedyEngine ??= ml.Model.CreatePredictionEngine<SoakPrompt, SoakCompletion>(Fit(greedy));
                    samplingEngine ??= ml.Model.CreatePredictionEngine<SoakPrompt, SoakCompletion>(Fit(sampling));
                    return (i % 2 == 0 ? greedyEngine : samplingEngine).Predict(new SoakPrompt { Prompt = prompt }).Completion;
                });
            greedyEngine?.Dispose();
            samplingEngine?.Dispose();
        }
        File.WriteAllText(Path.Combine(s.Output, FileName), JsonSerializer.Serialize(result, new JsonSerializerOptions
        {
            WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        return result;
    }
}
