using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Testing;

/// <summary>
/// Shared by the pipeline runner (fresh process) and the tests (in process): String input columns from JSON, and output
/// columns (String, Single, Int32 and vectors of them; Single as bit patterns) dumped as JSON so both sides compare exactly.
/// </summary>
public static class PipelineJson
{
    /// <summary>An IDataView with the one String column of <paramref name="json"/> (an object holding one string array; nulls allowed).</summary>
    public static IDataView Input(MLContext ml, string json)
    {
        var (name, values) = JsonSerializer.Deserialize<Dictionary<string, string?[]>>(json)!.Single();
        var definition = SchemaDefinition.Create(typeof(TextRow));
        definition[0].ColumnName = name;
        return ml.Data.LoadFromEnumerable(values.Select(v => new TextRow { Text = v }).ToArray(), definition);
    }

    /// <summary>One String value.</summary>
    public sealed class TextRow
    {
        /// <summary>The value (renamed by the schema definition).</summary>
        public string? Text { get; set; }
    }

    /// <summary>The JSON input for <see cref="Input"/>.</summary>
    public static string InputJson(IReadOnlyDictionary<string, string?[]> columns) => JsonSerializer.Serialize(columns);

    /// <summary>Every value of the named columns, one JSON array per row.</summary>
    public static string Dump(IDataView output, IReadOnlyList<string> columns)
    {
        var cols = columns.Select(c => output.Schema[c]).ToArray();
        var rows = new JsonArray();
        using var cursor = output.GetRowCursor(cols);
        var getters = cols.Select(c => Getter(cursor, c)).ToArray();
        while (cursor.MoveNext())
            rows.Add(new JsonArray(getters.Select(g => g()).ToArray()));
        return rows.ToJsonString() + "\n";
    }

    private static Func<JsonNode?> Getter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        DataViewType type = column.Type;
        if (type is TextDataViewType)
        {
            var g = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            return () => { ReadOnlyMemory<char> v = default; g(ref v); return JsonValue.Create(v.ToString()); };
        }
        if (type == NumberDataViewType.Single)
        {
            var g = cursor.GetGetter<float>(column);
            return () => { float v = 0; g(ref v); return JsonValue.Create(BitConverter.SingleToInt32Bits(v)); };
        }
        if (type == NumberDataViewType.Int32)
        {
            var g = cursor.GetGetter<int>(column);
            return () => { int v = 0; g(ref v); return JsonValue.Create(v); };
        }
        if (type is VectorDataViewType vector && vector.ItemType is TextDataViewType)
        {
            var g = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
            return () => { VBuffer<ReadOnlyMemory<char>> v = default; g(ref v); return new JsonArray(v.DenseValues().Select(s => (JsonNode?)JsonValue.Create(s.ToString())).ToArray()); };
        }
        if (type is VectorDataViewType ints && ints.ItemType == NumberDataViewType.Int32)
        {
            var g = cursor.GetGetter<VBuffer<int>>(column);
            return () => { VBuffer<int> v = default; g(ref v); return new JsonArray(v.DenseValues().Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()); };
        }
        if (type is VectorDataViewType floats && floats.ItemType == NumberDataViewType.Single)
        {
            var g = cursor.GetGetter<VBuffer<float>>(column);
            return () => { VBuffer<float> v = default; g(ref v); return new JsonArray(v.DenseValues().Select(f => (JsonNode?)JsonValue.Create(BitConverter.SingleToInt32Bits(f))).ToArray()); };
        }
        throw new NotSupportedException($"Column '{column.Name}' of type {type} cannot be dumped.");
    }

    /// <summary>Runs the pipeline runner on a saved model in a new process and returns what it printed.</summary>
    /// <param name="zipPath">The saved pipeline.</param>
    /// <param name="input">String input columns.</param>
    /// <param name="columns">Output columns to print.</param>
    /// <param name="environment">Environment variables to set (null values remove them) in the new process.</param>
    /// <param name="workingDirectory">The new process's working directory; null keeps this one's.</param>
    public static string RunInFreshProcess(string zipPath, IReadOnlyDictionary<string, string?[]> input, IReadOnlyList<string> columns,
        IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        string inputPath = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N") + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(inputPath)!);
        File.WriteAllText(inputPath, InputJson(input));
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        if (workingDirectory is not null)
            psi.WorkingDirectory = workingDirectory;
        psi.ArgumentList.Add(RunnerPath());
        psi.ArgumentList.Add(zipPath);
        psi.ArgumentList.Add(inputPath);
        foreach (var c in columns)
            psi.ArgumentList.Add(c);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(180_000))
        {
            process.Kill();
            throw new TimeoutException("The pipeline runner timed out.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"The pipeline runner failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }

    private static string RunnerPath()
    {
        // Test output is <repo>/tests/<project>/bin/<config>/<tfm>/; the runner builds into the same layout.
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = dir.Name, config = dir.Parent!.Name;
        var tests = dir.Parent!.Parent!.Parent!.Parent!;
        string path = Path.Combine(tests.FullName, "Aigc.MLNet.PipelineRunner", "bin", config, tfm, "Aigc.MLNet.PipelineRunner.dll");
        if (!File.Exists(path))
            throw new FileNotFoundException($"The pipeline runner was not built at '{path}'.", path);
        return path;
    }
}
