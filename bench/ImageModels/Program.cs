// Quality runs and benchmarks of the image trainers on real MNIST. Commands (run from the repository root, Release):
//   dotnet run -c Release --project bench/ImageModels -- vae     [epochs=10] [seed=1] [batch=32] [hidden=400] [layers=1] [lr=0.001] [schedule=constant|cosine] [threads=0] [klwarmup=0] [name=vae-mlp-z20] [out=docs/images]
//   dotnet run -c Release --project bench/ImageModels -- gan     [epochs=1]  [seed=1] [out=docs/images]
//   dotnet run -c Release --project bench/ImageModels -- dcgan   [epochs=5]  [seed=1] [lr=0.0002] [dlr=lr] [real=1.0] [name=dcgan] [threads=0] [ckpt=folder: resume a shorter run] [out=docs/images]
//                                                               [conditional=0|1] [dcond=InputPlanes|Projection] [latent=100] [batch=64] [gch=128] [steps=0: stop after this many steps]
//   dotnet run -c Release --project bench/ImageModels -- steprate [steps=1200] [seed=1] [rounds=6]
using System.Diagnostics;
using System.Globalization;
using Aigc.MLNet.Bench.ImageModels;
using Aigc.MLNet.Trainers.Images;

var settings = args.Skip(1).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
int Int(string key, int fallback) => settings.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
double Double(string key, double fallback) => settings.TryGetValue(key, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
string Text(string key, string fallback) => settings.TryGetValue(key, out var v) ? v : fallback;

Console.WriteLine($"{DateTime.UtcNow:u} {Environment.ProcessorCount} cores, {RuntimeInformationText()}");
var clock = Stopwatch.StartNew();
switch (args.FirstOrDefault())
{
    case "vae": VaeQuality.Run(Int("epochs", 10), Int("seed", 1), Text("out", "docs/images"), Int("batch", 32), Int("hidden", 400), Double("lr", 0.001),
                               Int("layers", 1), Enum.Parse<LearningRateSchedule>(Text("schedule", "Constant"), ignoreCase: true), Int("threads", 0), Text("name", "vae-mlp-z20"), Double("klwarmup", 0)); break;
    case "gan": GanRuns.EpochTime(Int("epochs", 1), Int("seed", 1), Text("out", "docs/images"), dcgan: false); break;
    case "dcgan": GanRuns.EpochTime(Int("epochs", 5), Int("seed", 1), Text("out", "docs/images"), dcgan: true, Double("lr", 2e-4),
                                    settings.ContainsKey("dlr") ? Double("dlr", 0) : null, Double("real", 1.0), Text("name", "dcgan"),
                                    Int("threads", 0), settings.TryGetValue("ckpt", out var ckpt) ? Path.GetFullPath(ckpt) : null, Int("conditional", 0) == 1,
                                    Enum.Parse<DiscriminatorConditioning>(Text("dcond", "InputPlanes"), ignoreCase: true), Int("latent", 100), Int("batch", 64), Int("gch", 128), Int("steps", 0)); break;
    case "steprate": GanRuns.StepRate(Int("steps", 1200), Int("seed", 1), Int("rounds", 6)); break;
    default: Console.Error.WriteLine("usage: vae|gan|dcgan|steprate [key=value...]"); return 2;
}
Console.WriteLine($"total wall time {clock.Elapsed.TotalSeconds:F1} s");
return 0;

static string RuntimeInformationText() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
