using System.Text.RegularExpressions;

namespace Aigc.MLNet.Notebooks.Tests;

/// <summary>
/// Runs each notebook in the real .NET Interactive C# kernel (small sizes unless AIGC_NOTEBOOK_FULL=1) and checks that
/// every cell ran and that it showed real pictures; also checks the kernel host itself on tiny notebooks.
/// </summary>
[TestClass]
public sealed partial class NotebookTests
{
    public TestContext TestContext { get; set; } = null!;

    private static ConsumerWorkspace? workspace;
    private static string home = "";

    private static string NotebooksFolder => Path.Combine(ConsumerWorkspace.RepositoryRoot(), "notebooks");

    private static bool Full => Environment.GetEnvironmentVariable("AIGC_NOTEBOOK_FULL") == "1";

    /// <summary>One packages folder and home for the class: the kernel restores the Aigc.MLNet packages once per process, fresh from the feed.</summary>
    [ClassInitialize]
    public static void CreateWorkspace(TestContext _)
    {
        ConsumerWorkspace.Package("Aigc.MLNet.Trainers");   // fails naming eng/pack.sh when the feed is empty
        workspace = new ConsumerWorkspace();
        home = workspace.CreateHome();
    }

    [ClassCleanup]
    public static void DeleteWorkspace() => workspace?.Dispose();

    [TestMethod]
    public void AllFiveNotebooksArePolyglotAndReferenceThePackagesOnlyThroughNuGet()
    {
        var names = Directory.GetFiles(NotebooksFolder, "*.ipynb").Select(Path.GetFileName).Order().ToArray();
        CollectionAssert.AreEqual(new[]
        {
            "01-text-generation.ipynb", "02-gan-mnist.ipynb", "03-vae-latent-space.ipynb", "04-char-gpt-shakespeare.ipynb", "05-evaluation.ipynb",
        }, names);
        foreach (string file in Directory.GetFiles(NotebooksFolder, "*.ipynb"))
        {
            var cells = NotebookRunner.CodeCells(file);
            Assert.IsGreaterThanOrEqualTo(3, cells.Count, file);
            var references = cells.SelectMany(c => c.Split('\n')).Select(l => l.Trim()).Where(l => l.StartsWith("#r ", StringComparison.Ordinal)).ToList();
            Assert.IsTrue(references.Any(r => r.StartsWith("#r \"nuget: Aigc.MLNet.", StringComparison.Ordinal)), $"{file} installs an Aigc.MLNet package");
            foreach (string r in references)
                StringAssert.Matches(r, NuGetReference(), $"{file}: only #r \"nuget: Id, Version\" references (no assembly paths)");
            foreach (string cell in cells)
                Assert.DoesNotContain("Aigc.MLNet.Cli", cell, $"{file} uses the aigc tool's internals");
        }
    }

    [TestMethod]
    public void KernelHost_RunsCellsWithTheKernelsOwnImports_AndNamesTheFailingCell()
    {
        string folder = Path.Combine(workspace!.Root, "host-check");
        Directory.CreateDirectory(folder);
        string good = Path.Combine(folder, "good.ipynb");
        NotebookRunner.WriteNotebook(good,
            "var squares = Enumerable.Range(1, 4).Select(i => i * i).ToList();",
            "display(HTML(\"<b>\" + string.Join(\",\", squares) + \"</b>\"));\nsquares.Sum()");
        var ok = NotebookRunner.Run(workspace, home, good, Path.Combine(folder, "good.out.ipynb"), small: true, TimeSpan.FromMinutes(3));
        Assert.AreEqual(0, ok.ExitCode, ok.Log);
        Assert.IsTrue(ok.Report!.Succeeded);
        CollectionAssert.Contains(ok.Report.Cells[1].Html, "<b>1,4,9,16</b>");
        // The executed copy carries the outputs: the displayed HTML and the last expression's value (30).
        string executed = File.ReadAllText(ok.ExecutedNotebook);
        StringAssert.Contains(executed, "1,4,9,16");
        StringAssert.Contains(executed, "\"execute_result\"");
        StringAssert.Contains(executed, "<pre>30</pre>");

        // The real kernel does not import System.IO (the emulation this replaces did): Path is unknown without a using.
        string bad = Path.Combine(folder, "bad.ipynb");
        NotebookRunner.WriteNotebook(bad, "var a = 1;", "var p = Path.Combine(\"a\", \"b\");", "var never = 3;");
        var failed = NotebookRunner.Run(workspace, home, bad, Path.Combine(folder, "bad.out.ipynb"), small: true, TimeSpan.FromMinutes(3));
        Assert.AreEqual(1, failed.ExitCode, failed.Log);
        Assert.IsFalse(failed.Report!.Succeeded);
        Assert.HasCount(2, failed.Report.Cells, "cells after a failure do not run");
        Assert.AreEqual(2, failed.Report.Cells[1].Cell);
        Assert.IsTrue(failed.Report.Cells[1].Errors.Any(e => e.Contains("CS0103") && e.Contains("'Path'")), failed.Log);
        StringAssert.Contains(failed.Log, "bad.ipynb cell 2");
    }

    [TestMethod] public void Notebook01_TextGeneration() => Run("01-text-generation.ipynb", minPictures: 1);
    [TestMethod] public void Notebook02_GanMnist() => Run("02-gan-mnist.ipynb", minPictures: 2);
    [TestMethod] public void Notebook03_VaeLatentSpace() => Run("03-vae-latent-space.ipynb", minPictures: 4);
    [TestMethod] public void Notebook04_CharGptShakespeare() => Run("04-char-gpt-shakespeare.ipynb", minPictures: 1);
    [TestMethod] public void Notebook05_Evaluation() => Run("05-evaluation.ipynb", minPictures: 1);

    private void Run(string name, int minPictures)
    {
        string notebook = Path.Combine(NotebooksFolder, name);
        // AIGC_NOTEBOOK_SAVE=1 writes the executed notebook (with its outputs) back into notebooks/: how the committed copies are made.
        bool save = Environment.GetEnvironmentVariable(SaveVariable) == "1";
        string executed = save ? notebook : Path.Combine(workspace!.Root, name);
        var run = NotebookRunner.Run(workspace!, home, notebook, executed, small: !Full, Full ? TimeSpan.FromMinutes(60) : TimeSpan.FromMinutes(10));
        TestContext.WriteLine(run.Log);
        Assert.AreEqual(0, run.ExitCode, $"{name} failed in the .NET Interactive kernel:\n{run.Log}");
        Assert.IsNotNull(run.Report);
        Assert.IsTrue(run.Report.Succeeded);
        Assert.AreEqual(NotebookRunner.CodeCells(notebook).Count, run.Report.Cells.Count, "every code cell ran");
        var pictures = NotebookRunner.Pictures(run.Report);
        Assert.IsGreaterThanOrEqualTo(minPictures, pictures.Count, $"{name} displayed {pictures.Count} PNG pictures; expected at least {minPictures}.");
        SavePictures(name, pictures);
        foreach (string b64 in pictures)
        {
            using var bitmap = SkiaSharp.SKBitmap.Decode(Convert.FromBase64String(b64));
            Assert.IsNotNull(bitmap, $"{name}: a displayed picture does not decode.");
            Assert.IsTrue(bitmap.Width > 20 && bitmap.Height > 20, $"{name}: picture {bitmap.Width}x{bitmap.Height}");
        }
    }

    /// <summary>Environment variable: 1 writes each executed notebook, outputs included, over its source in notebooks/.</summary>
    public const string SaveVariable = "AIGC_NOTEBOOK_SAVE";

    /// <summary>Environment variable naming a folder to which every displayed picture is written as &lt;notebook&gt;-&lt;n&gt;.png (how the README pictures are made).</summary>
    public const string PicturesFolderVariable = "AIGC_NOTEBOOK_PICTURES";

    private static void SavePictures(string notebook, List<string> pictures)
    {
        string? folder = Environment.GetEnvironmentVariable(PicturesFolderVariable);
        if (string.IsNullOrEmpty(folder)) return;
        Directory.CreateDirectory(folder);
        for (int i = 0; i < pictures.Count; i++)
        {
            string file = Path.Combine(folder, $"{Path.GetFileNameWithoutExtension(notebook)}-{i + 1}.png");
            File.WriteAllBytes(file + ".tmp", Convert.FromBase64String(pictures[i]));
            File.Move(file + ".tmp", file, overwrite: true);
        }
    }

    [GeneratedRegex("^#r \"nuget: [A-Za-z0-9.\\-]+, [0-9][0-9A-Za-z.\\-]*\"$")]
    private static partial Regex NuGetReference();
}
