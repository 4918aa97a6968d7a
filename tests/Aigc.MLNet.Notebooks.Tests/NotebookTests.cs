using System.Text.RegularExpressions;

namespace Aigc.MLNet.Notebooks.Tests;

/// <summary>Runs each notebook with small sizes and checks it showed real pictures.</summary>
[TestClass]
public sealed partial class NotebookTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string NotebooksFolder
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "notebooks");
                if (File.Exists(Path.Combine(d.FullName, "Aigc.MLNet.sln")) && Directory.Exists(candidate)) return candidate;
            }
            throw new DirectoryNotFoundException("notebooks/ was not found above the test output folder.");
        }
    }

    /// <summary>Small sizes unless AIGC_NOTEBOOK_FULL=1 asks for the notebooks' real sizes (minutes each; used to make the README pictures).</summary>
    [ClassInitialize]
    public static void SmallSizes(TestContext _)
    {
        if (Environment.GetEnvironmentVariable("AIGC_NOTEBOOK_FULL") != "1")
            Environment.SetEnvironmentVariable(NotebookRunner.SmallSizesVariable, "1");
    }

    [TestMethod]
    public void AllFiveNotebooksArePresentAndPolyglot()
    {
        var names = Directory.GetFiles(NotebooksFolder, "*.ipynb").Select(Path.GetFileName).Order().ToArray();
        CollectionAssert.AreEqual(new[]
        {
            "01-text-generation.ipynb", "02-gan-mnist.ipynb", "03-vae-latent-space.ipynb", "04-char-gpt-shakespeare.ipynb", "05-evaluation.ipynb",
        }, names);
        foreach (string file in Directory.GetFiles(NotebooksFolder, "*.ipynb"))
            Assert.IsTrue(NotebookRunner.ReadCells(file).Count >= 3, file);
    }

    [TestMethod]
    public void DirectiveTranslation_MapsBuiltAssembliesAndRejectsUnknownOnes()
    {
        string bin = AppContext.BaseDirectory;
        var (code, refs) = NotebookRunner.TranslateDirectives("#r \"../src/Cli/bin/Release/net10.0/Aigc.MLNet.Onnx.dll\"\n#r \"nuget: SkiaSharp, 3.119.4\"\nvar x = 1;", bin);
        Assert.AreEqual(2, refs.Count);
        Assert.AreEqual(Path.Combine(bin, "Aigc.MLNet.Onnx.dll"), refs[0]);
        Assert.AreEqual(Path.Combine(bin, "SkiaSharp.dll"), refs[1]);
        StringAssert.Contains(code, "var x = 1;");
        Assert.ThrowsExactly<InvalidOperationException>(() => NotebookRunner.TranslateDirectives("#r \"nuget: NotAPackage, 1.0\"", bin));
        Assert.ThrowsExactly<InvalidOperationException>(() => NotebookRunner.TranslateDirectives("#!fsharp\nlet x = 1", bin));
    }

    [TestMethod] public Task Notebook01_TextGeneration() => Run("01-text-generation.ipynb", minPictures: 1);
    [TestMethod] public Task Notebook02_GanMnist() => Run("02-gan-mnist.ipynb", minPictures: 2);
    [TestMethod] public Task Notebook03_VaeLatentSpace() => Run("03-vae-latent-space.ipynb", minPictures: 3);
    [TestMethod] public Task Notebook04_CharGptShakespeare() => Run("04-char-gpt-shakespeare.ipynb", minPictures: 1);
    [TestMethod] public Task Notebook05_Evaluation() => Run("05-evaluation.ipynb", minPictures: 1);

    private async Task Run(string name, int minPictures)
    {
        string path = Path.Combine(NotebooksFolder, name);
        string work = Path.Combine(Path.GetTempPath(), "aigc-nb-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            var globals = await NotebookRunner.RunAsync(path, work, TestContext.WriteLine);
            var pictures = globals.Displayed.Where(d => d.Html is not null).SelectMany(d => PngData().Matches(d.Html!).Select(m => m.Groups[1].Value)).ToList();
            Assert.IsTrue(pictures.Count >= minPictures, $"{name} displayed {pictures.Count} PNG pictures; expected at least {minPictures}.");
            SavePictures(name, pictures);
            foreach (string b64 in pictures)
            {
                using var bitmap = SkiaSharp.SKBitmap.Decode(Convert.FromBase64String(b64));
                Assert.IsNotNull(bitmap, $"{name}: a displayed picture does not decode.");
                Assert.IsTrue(bitmap.Width > 20 && bitmap.Height > 20, $"{name}: picture {bitmap.Width}x{bitmap.Height}");
            }
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }

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

    [GeneratedRegex("data:image/png;base64,([A-Za-z0-9+/=]+)")]
    private static partial Regex PngData();
}
