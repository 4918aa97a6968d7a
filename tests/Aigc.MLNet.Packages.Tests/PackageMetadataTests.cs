using System.IO.Compression;
using System.Xml.Linq;

namespace Aigc.MLNet.Packages.Tests;

/// <summary>What a well-kept .NET package carries, read from the .nupkg/.snupkg files that eng/pack.sh wrote.</summary>
[TestClass]
public sealed class PackageMetadataTests
{
    public static IEnumerable<object[]> Libraries =>
    [
        ["Aigc.MLNet.Onnx", new[] { "Microsoft.ML.OnnxRuntime.Managed", "Microsoft.ML.Tokenizers" }],
        ["Aigc.MLNet.Transforms", new[] { "Aigc.MLNet.Onnx", "Microsoft.ML" }],
        ["Aigc.MLNet.Trainers", new[] { "Aigc.MLNet.Transforms", "TorchSharp" }],
    ];

    // Native runtimes are the application's choice: no library package may pull one in.
    private static readonly string[] NativePackages =
        ["Microsoft.ML.OnnxRuntime", "Microsoft.ML.OnnxRuntime.Gpu", "libtorch-cpu-linux-x64", "TorchSharp-cpu", "SkiaSharp", "SkiaSharp.NativeAssets.Linux.NoDependencies", "ScottPlot"];

    [TestMethod]
    [DynamicData(nameof(Libraries))]
    public void Package_HasDescriptionLicenceReadmeXmlDocsAndSymbols(string id, string[] dependencies)
    {
        string nupkg = ConsumerWorkspace.Package(id);
        using var zip = ZipFile.OpenRead(nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        var nuspec = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open());
        XNamespace ns = nuspec.Root!.GetDefaultNamespace();
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        string Value(string name) => metadata.Element(ns + name)?.Value ?? "";

        Assert.AreEqual(id, Value("id"));
        StringAssert.Matches(Value("version"), new System.Text.RegularExpressions.Regex(@"^\d+\.\d+\.\d+"));
        Assert.AreNotEqual("Package Description", Value("description"));
        Assert.IsGreaterThan(200, Value("description").Length, "a one-paragraph description");
        Assert.AreEqual("MIT", Value("license"));
        Assert.AreEqual("expression", metadata.Element(ns + "license")!.Attribute("type")!.Value);
        Assert.IsFalse(string.IsNullOrWhiteSpace(Value("authors")));
        Assert.IsFalse(string.IsNullOrWhiteSpace(Value("tags")));
        Assert.AreEqual("README.md", Value("readme"));
        Assert.Contains("README.md", names);
        Assert.Contains("LICENSE", names);
        Assert.Contains($"lib/net10.0/{id}.dll", names);
        Assert.Contains($"lib/net10.0/{id}.xml", names);
        string readme = new StreamReader(zip.GetEntry("README.md")!.Open()).ReadToEnd();
        StringAssert.StartsWith(readme, $"# {id}");
        StringAssert.Contains(readme, $"dotnet add package {id}");
        var xmlDoc = XDocument.Load(zip.GetEntry($"lib/net10.0/{id}.xml")!.Open());
        Assert.IsGreaterThan(50, xmlDoc.Descendants("member").Count(), "XML docs for the public surface");

        var deps = metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToArray();
        foreach (string dependency in dependencies) Assert.Contains(dependency, deps);
        foreach (string native in NativePackages)
            Assert.DoesNotContain(native, deps, $"{id} must not force the native package {native} on applications");

        string snupkg = ConsumerWorkspace.Package(id, ".snupkg");
        using var symbols = ZipFile.OpenRead(snupkg);
        Assert.IsTrue(symbols.Entries.Any(e => e.FullName == $"lib/net10.0/{id}.pdb"), "portable PDB in the symbol package");
    }
}
