using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Aigc.MLNet.Trainers.Sequence;
using Aigc.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Tests.Sequence;

/// <summary>
/// The test assembly's entry point (the test SDK's empty generated one is turned off): <c>dotnet Aigc.MLNet.Trainers.Tests.dll
/// history &lt;model.zip&gt; &lt;histories.json&gt; &lt;history column&gt; &lt;output column&gt;</c> loads a saved pipeline
/// whose mappings live in the Trainers assembly, registering it (as users must), and prints the output as float bits.
/// </summary>
public static class FreshProcessEntry
{
    public static int Main(string[] args)
    {
        if (args.Length != 5 || args[0] != "history")
        {
            Console.Error.WriteLine("usage: history <model.zip> <histories.json> <history column> <output column>");
            return 2;
        }
        var ml = new MLContext(seed: 1);
        ml.ComponentCatalog.RegisterAssembly(typeof(GenerativeCatalog).Assembly);
        ml.ComponentCatalog.RegisterAssembly(typeof(AutoRegressiveTransformer).Assembly);
        var model = ml.Model.Load(args[1], out _);
        var histories = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(args[2]))!;
        Console.Out.Write(Dump(model.Transform(Histories(ml, histories, args[3])), args[4]));
        return 0;
    }

    /// <summary>One row per history, in a variable-length Single vector column named <paramref name="column"/>.</summary>
    public static IDataView Histories(MLContext ml, float[][] histories, string column)
    {
        var definition = SchemaDefinition.Create(typeof(HistoryRow));
        definition[0].ColumnName = column;
        return ml.Data.LoadFromEnumerable(histories.Select(h => new HistoryRow { History = h }).ToArray(), definition);
    }

    /// <summary>The float-vector column as hex bit patterns, one line per row.</summary>
    public static string Dump(IDataView data, string column)
    {
        var sb = new StringBuilder();
        var col = data.Schema[column];
        using var cursor = data.GetRowCursor([col]);
        var getter = cursor.GetGetter<VBuffer<float>>(col);
        VBuffer<float> buffer = default;
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            sb.AppendLine(string.Join(" ", buffer.DenseValues().Select(v => BitConverter.SingleToInt32Bits(v).ToString("x8", CultureInfo.InvariantCulture))));
        }
        return sb.ToString();
    }

    /// <summary>Runs this assembly's entry point on a saved model in a new process and returns what it printed.</summary>
    public static string RunInFreshProcess(string zip, float[][] histories, string historyColumn, string outputColumn)
    {
        string input = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N") + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(input)!);
        File.WriteAllText(input, JsonSerializer.Serialize(histories));
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { typeof(FreshProcessEntry).Assembly.Location, "history", zip, input, historyColumn, outputColumn })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            throw new TimeoutException("The fresh process timed out.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"The fresh process failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }

    private sealed class HistoryRow
    {
        public float[] History { get; set; } = [];
    }
}
