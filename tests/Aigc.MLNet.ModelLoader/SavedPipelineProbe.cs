using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Testing;

/// <summary>
/// Shared by the model loader (fresh process) and the tests (in process): builds the probe input rows and prints
/// output columns as float bit patterns so both sides compare exactly.
/// </summary>
public static class SavedPipelineProbe
{
    /// <summary>Input rows: "seeds" (Int32 Seed), "seeds-labels" (+ Int32 Label), "pixels" (Vector 784 Pixels), "latent:N" (Vector N Latent).</summary>
    public static IDataView Input(MLContext ml, string kind, int rows)
    {
        if (kind == "seeds")
            return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new SeedRow { Seed = 100 + i }));
        if (kind == "seeds-labels")
            return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new SeedLabelRow { Seed = 100 + i, Label = i % 10 }));
        if (kind == "pixels")
            return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new PixelRow { Pixels = Pixels(i) }));
        if (kind.StartsWith("latent:", StringComparison.Ordinal))
        {
            int size = int.Parse(kind["latent:".Length..], CultureInfo.InvariantCulture);
            var def = SchemaDefinition.Create(typeof(LatentRow));
            def[nameof(LatentRow.Latent)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
            return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new LatentRow { Latent = Latent(i, size) }), def);
        }
        throw new ArgumentException($"Unknown probe kind '{kind}'.");
    }

    /// <summary>Deterministic pixels in [0, 1] for row <paramref name="row"/>.</summary>
    public static float[] Pixels(int row)
    {
        var p = new float[784];
        for (int j = 0; j < p.Length; j++) p[j] = ((j * 7 + row * 13) % 17) / 16f;
        return p;
    }

    /// <summary>Deterministic latent vector for row <paramref name="row"/>.</summary>
    public static float[] Latent(int row, int size)
    {
        var z = new float[size];
        for (int j = 0; j < size; j++) z[j] = MathF.Sin(row * 1.7f + j * 0.3f) * 1.5f;
        return z;
    }

    /// <summary>Every value of the named float (vector) columns, one line per row, as hex bit patterns.</summary>
    public static string Dump(IDataView output, IReadOnlyList<string> columns)
    {
        var sb = new StringBuilder();
        var cols = columns.Select(c => output.Schema[c]).ToArray();
        using var cursor = output.GetRowCursor(cols);
        var getters = cols.Select(c => cursor.GetGetter<VBuffer<float>>(c)).ToArray();
        VBuffer<float> buffer = default;
        while (cursor.MoveNext())
        {
            foreach (var g in getters)
            {
                g(ref buffer);
                foreach (float v in buffer.DenseValues()) sb.Append(BitConverter.SingleToInt32Bits(v).ToString("x8", CultureInfo.InvariantCulture)).Append(' ');
                sb.Append("| ");
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Runs the loader executable on a saved model in a new process and returns its output.</summary>
    /// <param name="zipPath">The saved pipeline.</param>
    /// <param name="kind">Probe input kind (see <see cref="Input"/>).</param>
    /// <param name="rows">Rows of input.</param>
    /// <param name="columns">Output columns to print.</param>
    /// <param name="environment">Environment variables to set (null values remove them) in the new process.</param>
    public static string RunInFreshProcess(string zipPath, string kind, int rows, IReadOnlyList<string> columns,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        string dll = LoaderPath();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add(zipPath);
        psi.ArgumentList.Add(kind);
        psi.ArgumentList.Add(rows.ToString(CultureInfo.InvariantCulture));
        foreach (var c in columns) psi.ArgumentList.Add(c);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000)) { process.Kill(); throw new TimeoutException("Model loader timed out."); }
        if (process.ExitCode != 0) throw new InvalidOperationException($"Model loader failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }

    private static string LoaderPath()
    {
        // Test output: <repo>/tests/<project>/bin/<config>/<tfm>/ ; the loader builds into the same layout.
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = dir.Name, config = dir.Parent!.Name;
        var tests = dir.Parent!.Parent!.Parent!.Parent!;
        string path = Path.Combine(tests.FullName, "Aigc.MLNet.ModelLoader", "bin", config, tfm, "Aigc.MLNet.ModelLoader.dll");
        if (!File.Exists(path)) throw new FileNotFoundException($"Model loader not built at '{path}'.", path);
        return path;
    }

    private sealed class SeedRow { public int Seed { get; set; } }
    private sealed class SeedLabelRow { public int Seed { get; set; } public int Label { get; set; } }
    private sealed class PixelRow { [VectorType(784)] public float[] Pixels { get; set; } = []; }
    private sealed class LatentRow { public float[] Latent { get; set; } = []; }
}
