// The README's main job. Today it checks the machine end to end: the datasets load through ML.NET, TorchSharp
// trains on this machine's CPU, and it prints a summary. Later work gives it real generative jobs.
using System.Diagnostics;
using Aigc.MLNet.Transforms.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

var clock = Stopwatch.StartNew();
var ml = new MLContext(seed: 1);

Console.WriteLine($"Data folder: {DatasetPaths.Root}");
var train = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Train);
var test = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Test);
var counts = new int[10];
using (var cursor = train.GetRowCursor([train.Schema["Label"]]))
{
    var getter = cursor.GetGetter<uint>(train.Schema["Label"]);
    uint key = 0;
    while (cursor.MoveNext())
    {
        getter(ref key);
        counts[key - 1]++;
    }
}
Console.WriteLine($"MNIST: {train.GetRowCount():N0} train rows, {test.GetRowCount():N0} test rows");
Console.WriteLine("  train label counts: " + string.Join(" ", counts.Select((c, d) => $"{d}:{c}")));

string corpus = File.ReadAllText(DatasetPaths.TinyShakespeareFile);
Console.WriteLine($"Tiny Shakespeare: {corpus.Length:N0} characters, {corpus.Distinct().Count()} distinct");

// A logistic-regression probe on 2,000 MNIST images ("is it a zero?") with TorchSharp, to prove training works here.
var sample = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Train, maxRows: 2000);
torch.manual_seed(1);
using var x = torch.tensor(sample.Pixels, sample.Count, MnistDataset.PixelCount);
using var y = torch.tensor(sample.Labels.Select(l => l == 0 ? 1f : 0f).ToArray(), sample.Count, 1);
using var probe = torch.nn.Linear(MnistDataset.PixelCount, 1);
using var optimizer = torch.optim.Adam(probe.parameters(), 0.01);
float firstLoss = 0, lastLoss = 0;
for (int step = 0; step < 50; step++)
{
    using var scope = torch.NewDisposeScope();
    optimizer.zero_grad();
    var loss = torch.nn.functional.binary_cross_entropy_with_logits(probe.forward(x), y);
    loss.backward();
    optimizer.step();
    lastLoss = loss.item<float>();
    if (step == 0)
        firstLoss = lastLoss;
}
Console.WriteLine($"TorchSharp {torch.__version__} on {(torch.cuda.is_available() ? "CUDA" : "CPU")}: zero-vs-rest probe loss {firstLoss:F4} -> {lastLoss:F4} in 50 Adam steps");
Console.WriteLine($"Done in {clock.Elapsed.TotalSeconds:F1} s");
