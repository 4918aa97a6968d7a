// Usage: Aigc.MLNet.PipelineRunner <model.zip> <input.json> <output column>...
// input.json: {"ColumnName": ["row 0", "row 1", ...], ...} (String columns of equal length).
// Registers the Transforms assembly (as users must before loading), loads the pipeline in this fresh process and
// prints the requested output columns with PipelineJson.Dump.
using Aigc.MLNet.Testing;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;

var ml = new MLContext(seed: 1);
ml.ComponentCatalog.RegisterAssembly(typeof(TextGenerationCatalog).Assembly);
var model = ml.Model.Load(args[0], out _);
var input = PipelineJson.Input(ml, File.ReadAllText(args[1]));
Console.Out.Write(PipelineJson.Dump(model.Transform(input), args[2..]));
