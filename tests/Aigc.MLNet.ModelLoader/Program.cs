// Usage: Aigc.MLNet.ModelLoader <model.zip> <probe kind> <rows> <output column>...
// Loads the pipeline in this fresh process (registering the Transforms assembly, as users must) and prints the outputs.
using System.Globalization;
using Aigc.MLNet.Testing;
using Aigc.MLNet.Transforms;
using Microsoft.ML;

var ml = new MLContext(seed: 1);
ml.ComponentCatalog.RegisterAssembly(typeof(GenerativeCatalog).Assembly);
var model = ml.Model.Load(args[0], out _);
var input = SavedPipelineProbe.Input(ml, args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
Console.Out.Write(SavedPipelineProbe.Dump(model.Transform(input), args[3..]));
