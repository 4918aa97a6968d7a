// A consumer of the Aigc.MLNet.Trainers package: trains 5 GAN steps on a few MNIST rows through
// mlContext.Generative().Trainers.Gan, which exports the generator to ONNX, then generates one image from it and
// writes it as a PNG grid. Usage: TrainGan MNIST_FOLDER OUTPUT_FOLDER
// Prints "steps <n>", "pixels <count> min <v> max <v> mean <v>" and "png <path> <bytes>".
using System.Globalization;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;

string mnist = args[0], output = args[1];
var ml = new MLContext(seed: 1);
IDataView rows = ml.Data.TakeRows(ml.Data.LoadMnist(mnist, MnistSplit.Train), 64);
var steps = new StepCounter();
var gan = ml.Generative().Trainers.Gan(new GanOptions
{
    ModelFolder = Path.Combine(output, "gan"), LabelColumnName = "Label", BatchSize = 16, MaxSteps = 5, Epochs = 10, Seed = 3, Threads = 1,
    ReportEveryNSteps = 1, Progress = steps,
}).Fit(rows);

var request = ml.Data.LoadFromEnumerable(new[] { new SeedAndDigit { Seed = 42, Label = 7 } });
float[] image = gan.Transform(request).GetColumn<float[]>("Image").Single();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"steps {steps.Last}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pixels {image.Length} min {image.Min():R} max {image.Max():R} mean {image.Average():R}"));
string png = Path.Combine(output, "digit.png");
ImageGrid.SavePng(png, [image], columns: 1);
Console.WriteLine($"png {png} {new FileInfo(png).Length}");
return 0;

public sealed class SeedAndDigit
{
    public int Seed { get; set; }
    public int Label { get; set; }
}

// Progress<T> would post to the thread pool; a direct IProgress sees every report before Fit returns.
public sealed class StepCounter : IProgress<Aigc.MLNet.Trainers.Training.TrainingProgress>
{
    public long Last { get; private set; }
    public void Report(Aigc.MLNet.Trainers.Training.TrainingProgress value) => Last = Math.Max(Last, value.Step);
}
