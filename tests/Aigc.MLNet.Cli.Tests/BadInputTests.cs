using System.Text.Json.Nodes;

namespace Aigc.MLNet.Cli.Tests;

/// <summary>One bad input: the command line (with {placeholders}), the exit code it must give and what its error line must say.</summary>
/// <param name="Command">The arguments, space-separated; {name} stands for a fixture path (see <see cref="BadInputTests"/>).</param>
/// <param name="Exit">Expected exit code: 2 for a wrong command line, 1 for a failure.</param>
/// <param name="Says">Fragments the error line must contain, the first naming the input (flag or file).</param>
public sealed record BadInput(string Command, int Exit, params string[] Says)
{
    /// <inheritdoc/>
    public override string ToString() => Command;
}

/// <summary>
/// The bad-input battery of issue 18 as a table: every row runs <c>aigc</c> in process and must exit with its code,
/// print one error line that names the input, print no stack trace or library decoration, and leave the fixture
/// folder exactly as it was (no output folder, no checkpoint, no temporary file). A new verb's case is one more row.
/// </summary>
/// <remarks>
/// Placeholders: {corpus} {corpus2} a small text; {gpt} a random char GPT folder (vocabulary 11, 64 positions); {notok}
/// the same without tokenizer files; {badpos} the same with config.json saying n_positions 128; {run} a finished
/// 4-step `train gpt` run trained with {runargs}; {changed} such a run whose text changed afterwards; {badjson} a run
/// whose aigc-lm.json is damaged; {gan} {vae} tiny trained model folders (GAN latent size 16); {trunc} the GAN with a
/// truncated generator.onnx; {vaegen} the VAE decoder saved as the GAN's generator; {badlat} the GAN with model.json
/// saying LatentSize 8; {dir} an empty folder; {hyp} {short} text files of 2 and 1 lines; {out} a fresh path that must
/// still not exist afterwards; {allbanned} --bad-words-ids once for every token id of {gpt}.
/// </remarks>
[TestClass]
public sealed class BadInputTests
{
    private const string RunArgs = "--batch-size 2 --block-size 8 --layers 1 --heads 1 --embedding-size 8 --eval-interval 2 --threads 1";
    private const string Gpt = "train gpt --data {corpus} --out {out} --batch-size 2";

    private static readonly BadInput[] Rows =
    [
        // 1. Every count and size is bounded up front (exit 2, flag and range named).
        new("generate images -m {gan} --count 2000000000 -o {out}/a.png", 2, "--count", "between 1 and 100000", "2000000000"),
        new("generate images -m {gan} --count 0 -o {out}/a.png", 2, "--count", "got 0"),
        new("evaluate images -m {gan} --count 1", 2, "--count", "between 2 and 100000"),
        new("evaluate images -m {gan} --count 500000", 2, "--count", "500000"),
        new("train gan --out {out} --samples 1000000", 2, "--samples", "between 1 and 100000"),
        new("train gan --out {out} --rows 70000", 2, "--rows", "between 0 and 60000"),
        new("train gan --out {out} --batch-size 100000", 2, "--batch-size", "between 1 and 4096"),
        new("train gan --out {out} --epochs 0", 2, "--epochs", "got 0"),
        new("train vae --out {out} --latent-size 0", 2, "--latent-size", "between 1 and 4096"),
        new(Gpt + " --iterations 0", 2, "--iterations", "got 0"),
        new(Gpt + " --layers 1000", 2, "--layers", "between 1 and 64"),
        new(Gpt + " --block-size 100000", 2, "--block-size", "between 2 and 8192"),
        new("train lstm --data {corpus} --out {out} --hidden-size 0", 2, "--hidden-size", "got 0"),
        new("generate text -m {gpt} -p ab --num-beams 100000", 2, "--num-beams", "between 1 and 64"),
        new("generate text -m {gpt} -p ab --do-sample --num-return-sequences 1000", 2, "--num-return-sequences", "between 1 and 64"),
        new("generate text -m {gpt} -p ab --max-new-tokens 2147483647", 2, "--max-new-tokens", "between 1 and 1000000"),
        new("generate text -m {gpt} -p ab --max-new-tokens 99999999999", 2, "99999999999", "--max-new-tokens"),
        new("serve -m {gpt} --max-batch 100000", 2, "--max-batch", "at most 1024"),
        new("quickstart --out {out} --scale 1e9", 2, "--scale", "at most 100"),

        // 3. A damaged or mismatched image model is named at load, not hidden behind ML.NET's cursor wrapper.
        new("generate images -m {trunc} -o {out}/a.png", 1, "{trunc}/generator.onnx", "not a loadable ONNX model"),
        new("generate images -m {vaegen} -o {out}/a.png", 1, "{vaegen}/generator.onnx", "no input 'label'", "z Float [?, 20]"),
        new("generate images -m {badlat} -o {out}/a.png", 1, "{badlat}/model.json", "LatentSize 8", "{badlat}/generator.onnx", "16 values per row"),
        new("evaluate images -m {badlat} -n 10", 1, "{badlat}/model.json", "LatentSize 8"),

        // 6. --resume continues the same run or fails.
        new(Gpt + " --resume", 1, "--resume", "no checkpoint", "{out}/checkpoint/checkpoint.bin"),
        new("train gan --out {out} --max-steps 2 --resume", 1, "--resume", "no checkpoint", "{out}/checkpoint/checkpoint.bin"),
        new("train gpt --data {corpus} --out {run} {runargs} --iterations 6 --resume --max-chars 500", 2, "--max-chars 0 (not 500)", "{run}/checkpoint"),
        new("train gpt --data {corpus2} --out {run} {runargs} --iterations 6 --resume", 2, "--data '{corpus}' (not '{corpus2}')"),
        new("train gpt --data {corpus} --out {run} --batch-size 2 --block-size 8 --layers 2 --heads 1 --embedding-size 8 --threads 1 --iterations 6 --resume", 2, "--layers 1 (not 2)"),
        new("train lstm --data {corpus} --out {run} --batch-size 2 --block-size 8 --layers 1 --embedding-size 8 --threads 1 --iterations 6 --resume", 2, "'train gpt' (not 'train lstm')"),
        new("train gpt --data {changing} --out {changed} {runargs} --iterations 6 --resume", 2, "{changing}", "changed since the checkpoint"),
        new("train gpt --data {corpus} --out {run} {runargs} --iterations 2 --resume", 2, "--iterations 2", "checkpoint's step 4"),
        new("train gpt --data {corpus} --out {run} {runargs} --iterations 4 --resume", 2, "--iterations 4", "checkpoint's step 4"),

        // 7. Banning every token is refused before generating.
        new("generate text -m {gpt} -p ab {allbanned}", 2, "--bad-words-ids", "bans every one of the model's 11 tokens"),

        // 8. One line instead of library internals.
        new(Gpt + " --learning-rate NaN", 2, "--learning-rate", "NaN"),
        new("train gan --out {out} --learning-rate Infinity", 2, "--learning-rate", "Infinity"),
        new(Gpt + " --embedding-size 100000", 2, "--embedding-size", "100000"),
        new(Gpt + " --embedding-size 8192 --layers 64 --heads 64", 2, "--layers 64, --embedding-size 8192", "parameters", "memory"),
        new("export onnx --checkpoint {badjson}/checkpoint --out {out}", 1, "{badjson}/checkpoint/aigc-lm.json", "damaged"),
        new("train gpt --data {corpus} --out {badjson} {runargs} --iterations 6 --resume", 1, "{badjson}/checkpoint/aigc-lm.json", "damaged"),
        new("generate text -m {badpos} -p ab", 1, "{badpos}/config.json' n_positions is 128", "{badpos}/onnx/model.onnx", "64 rows"),
        new("evaluate perplexity -m {badpos} --data {corpus}", 1, "{badpos}/config.json' n_positions is 128", "64 rows"),

        // 10. Silent acceptances.
        new("evaluate perplexity -m {gpt} --data {corpus} --max-chars=-5", 2, "--max-chars", "-5"),
        new(Gpt + " --max-chars -5", 2, "--max-chars", "-5"),

        // 11. Wording and exit codes.
        new("generate text -m {gpt} -p ab --bad-words-ids x", 2, "--bad-words-ids", "'x'"),
        new("generate text -m {gpt} -p ab --bad-words-ids 999999", 2, "--bad-words-ids", "999999", "vocabulary of 11 tokens"),
        new("generate text -m {gpt} -p ab --pad-token-id -1", 2, "--pad-token-id"),
        new("generate text -m {gpt} -p ab --pad-token-id 99999", 2, "--pad-token-id", "99999"),
        new("generate text -m {gpt} -p ab --eos-token-id 99999", 2, "--eos-token-id", "99999"),
        new("generate text -m {gpt} -p ab --threads -1", 2, "--threads", "got -1"),
        new(Gpt + " --threads -1", 2, "--threads", "got -1"),
        new("train gan --out {out} --threads -1", 2, "--threads", "got -1"),
        new("train gan --out {out} --max-steps 0", 2, "--max-steps", "got 0"),
        new("evaluate bleu --hypotheses {dir} --references {hyp}", 2, "--hypotheses", "is a directory"),
        new("evaluate bleu --hypotheses {hyp} --references {dir}", 2, "--references", "is a directory"),
        new("generate text -m {notok} -p ab", 1, "--model", "no tokenizer files"),
        new("generate text -m {gpt} -p ab --top-p 1.5", 2, "--top-p", "(0, 1]"),
        new("generate text -m {gpt} -p abcd --max-length 2 --context-overflow stop", 2, "--max-length", "4 tokens"),

        // The command line's own validation, kept.
        new("generate text -m {gpt} -p ab --bogus-flag", 2, "--bogus-flag"),
        new("generate text -p ab", 2, "--model"),
        new("generate text -m {gpt} -p ab --top-k many", 2, "many"),
        new("generate text -m {out} -p ab", 1, "--model", "{out}"),
        new("generate text -m {gpt} -p a -p b --stream", 2, "--stream"),
        new("generate text -m {gpt} -p abcd --max-new-tokens 100 --context-overflow stop", 1, "context of 64 positions", "at most 60"),
        new("generate images -m {dir} -o {out}/a.png", 1, "--model", "model.json"),
        new("generate images -m {gan} -o {dir}", 2, "--out", "is a directory"),
        new("evaluate images -m {gan} --classifier {out}/lenet.onnx -n 10", 1, "--classifier", "{out}/lenet.onnx"),
        new("evaluate perplexity -m {out} --data {corpus}", 1, "--model", "{out}"),
        new("evaluate bleu --hypotheses {hyp} --references {short}", 1, "--references", "1 lines"),
        new("evaluate bleu --hypotheses {out}/h.txt --references {hyp}", 1, "--hypotheses", "{out}/h.txt"),
        new("export onnx --checkpoint {out} --out {out}/x", 1, "--checkpoint", "{out}"),
        new("export onnx --checkpoint {dir} --out {out}", 1, "{dir}", "aigc-lm.json"),
        new("convert gpt2 --safetensors {out}/none.safetensors --out {out}", 1, "--safetensors", "{out}/none.safetensors"),
        new("train gan --out {out} --architecture resnet", 2, "resnet"),
        new("train gpt --data {out}/none.txt --out {out}", 1, "{out}/none.txt"),
        new("train gpt --data {dir} --out {out}", 2, "--data", "is a directory"),
        new(Gpt + " --eval-interval 0", 2, "--eval-interval", "got 0"),
        new(Gpt + " --heads 3", 2, "--embedding-size (64)", "--heads (3)"),
        new(Gpt + " --iterations 2 --block-size 8 --threads 1 --max-chars 5", 2, "training text", "needs more than --block-size (8)"),
        new("serve -m {out}", 1, "--model", "does not exist"),
        new("serve -m {gpt} --api-key-env AIGC_BAD_INPUT_UNSET_KEY", 1, "--api-key-env", "AIGC_BAD_INPUT_UNSET_KEY"),
        new("serve -m {gpt} --port 70000", 2, "--port", "65535"),
        new("quickstart --out {out} --scale 0", 2, "--scale", "greater than 0"),
        new("quantize -m {gpt} -o {out} --bits 3", 2, "--bits must be 4 or 8, got 3"),
        new("quantize -m {gpt} -o {out} --bits 4 --block-size 48", 2, "--block-size must be 0, 16, 32, 64, 128 or 256, got 48"),
        new("quantize -m {gpt} -o {out} --bits 4 --accuracy-level 7", 2, "--accuracy-level", "got 7"),
        new("train gpt --data {corpus} --out {out} --quantize 5", 2, "--quantize must be 4 or 8, got 5"),
        new("quantize -m {gpt} -o {out} --bits 4 --block-size 16", 1, "--block-size: Quantization BlockSize 16 does not divide the model width 8", "cannot be block-quantized"),
        new("quantize -m {gan} -o {out} --bits 4", 1, "{gan}"),
        new("quantize -m {dir} -o {out} --bits 8", 1, "{dir}"),
        new("quantize -m {out} -o {out}/q --bits 8", 1, "--model", "{out}"),
        new("quantize -m {gpt} -o {dir} --bits 8", 2, "--out", "{dir}", "already exists"),
        new("frobnicate", 2, "frobnicate"),
        new("train", 2, "Required command was not provided"),
    ];

    /// <summary>The rows as MSTest data, each shown by its command line.</summary>
    public static IEnumerable<TestDataRow<BadInput>> Cases => Rows.Select(r => new TestDataRow<BadInput>(r) { DisplayName = r.Command });

    // Library phrases a shell user must never see.
    private static readonly string[] Forbidden =
    [
        "   at ", "frame #", ".cs:line", "(Parameter '", "Actual value was", "Splitter/consolidator", "TextGenerator constructor", "Exception:",
    ];

    private static TempFolder s_root = null!;
    private static readonly Dictionary<string, string> s_places = new(StringComparer.Ordinal);
    private static int s_outs;

    /// <summary>Builds the fixtures once: tiny models, runs and damaged copies (about ten seconds).</summary>
    [ClassInitialize]
    public static void CreateFixtures(TestContext context)
    {
        s_root = new TempFolder();
        string Place(string name, string relative)
        {
            string path = s_root.File(relative);
            s_places[name] = path;
            return path;
        }
        File.WriteAllText(Place("corpus", "corpus.txt"), string.Concat(Enumerable.Repeat("a bad cab had a bag; a dead fad.\n", 60)));
        File.WriteAllText(Place("corpus2", "corpus2.txt"), string.Concat(Enumerable.Repeat("a dab of bad cabbage; a faded bead.\n", 60)));
        File.WriteAllText(Place("changing", "changing.txt"), string.Concat(Enumerable.Repeat("a bad cab had a bag; a dead fad.\n", 60)));
        File.WriteAllLines(Place("hyp", "hyp.txt"), ["the cat sat on the mat", "a quick brown fox"]);
        File.WriteAllLines(Place("short", "short.txt"), ["one line"]);
        Directory.CreateDirectory(Place("dir", "empty"));

        string gpt = Place("gpt", "gpt");
        TinyModels.CharGpt(gpt);
        string notok = Place("notok", "notok");
        CopyFolder(gpt, notok);
        foreach (string f in Directory.GetFiles(notok).Where(f => Path.GetFileName(f).StartsWith("vocab", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("merges", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("tokenizer", StringComparison.Ordinal)))
            File.Delete(f);
        string badpos = Place("badpos", "badpos");
        CopyFolder(gpt, badpos);
        EditJson(Path.Combine(badpos, "config.json"), j => j["n_positions"] = 128);

        string[] runArgs = RunArgs.Split(' ');
        Must(CliHarness.Run(["train", "gpt", "--data", s_places["corpus"], "--out", Place("run", "run"), "--iterations", "4", .. runArgs]));
        Must(CliHarness.Run(["train", "gpt", "--data", s_places["changing"], "--out", Place("changed", "changed"), "--iterations", "4", .. runArgs]));
        File.AppendAllText(s_places["changing"], "and a fad bag.\n");
        string badjson = Place("badjson", "badjson");
        CopyFolder(s_places["run"], badjson);
        File.WriteAllText(Path.Combine(badjson, "checkpoint", Jobs.LanguageModelJob.ManifestFile), "{ \"CorpusPath\": ");

        string[] small = ["--rows", "64", "--batch-size", "32", "--max-steps", "2", "--samples", "10", "--threads", "1"];
        Must(CliHarness.Run(["train", "gan", "--architecture", "mlp", "--latent-size", "16", "--out", s_root.File("gan-run"), .. small]));
        Must(CliHarness.Run(["train", "vae", "--out", s_root.File("vae-run"), .. small]));
        string gan = Place("gan", "gan-run/model"), vae = Place("vae", "vae-run/model");
        string trunc = Place("trunc", "trunc");
        CopyFolder(gan, trunc);
        byte[] generator = File.ReadAllBytes(Path.Combine(gan, "generator.onnx"));
        File.WriteAllBytes(Path.Combine(trunc, "generator.onnx"), generator[..(generator.Length / 2)]);
        string vaegen = Place("vaegen", "vaegen");
        Directory.CreateDirectory(vaegen);
        File.Copy(Path.Combine(gan, "model.json"), Path.Combine(vaegen, "model.json"));
        File.Copy(Path.Combine(vae, "decoder.onnx"), Path.Combine(vaegen, "generator.onnx"));
        string badlat = Place("badlat", "badlat");
        CopyFolder(gan, badlat);
        EditJson(Path.Combine(badlat, "model.json"), j => j["LatentSize"] = 8);
    }

    /// <summary>Removes the fixtures.</summary>
    [ClassCleanup]
    public static void RemoveFixtures() => s_root?.Dispose();

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void BadInput_FailsWithOneLineNamingIt_LeavesNothingBehind(BadInput input)
    {
        string output = s_root.File($"out-{Interlocked.Increment(ref s_outs)}");
        string[] args = input.Command.Split(' ', StringSplitOptions.RemoveEmptyEntries).SelectMany(a => Expand(a, output).Split(' ')).ToArray();
        var before = Snapshot(s_root.Path);

        var r = CliHarness.Run(args);

        string all = r.Out + r.Error;
        Assert.AreEqual(input.Exit, r.ExitCode, all);
        string[] says = input.Says.Select(s => Expand(s, output)).ToArray();
        string? line = r.Error.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.Contains(says[0], StringComparison.Ordinal));
        Assert.IsNotNull(line, $"no error line names '{says[0]}':\n{all}");
        foreach (string fragment in says)
            StringAssert.Contains(line, fragment, $"the error line should say '{fragment}'");
        if (line.StartsWith("error: ", StringComparison.Ordinal))
            Assert.AreEqual(line, r.Error.Trim(), "a failure prints exactly one error line");
        foreach (string phrase in Forbidden)
            Assert.IsFalse(all.Contains(phrase, StringComparison.Ordinal), $"the output shows '{phrase}':\n{all}");
        Assert.IsFalse(Directory.Exists(output) || File.Exists(output), $"'{output}' was left behind");
        CollectionAssert.AreEquivalent(before, Snapshot(s_root.Path), "the fixture folder changed: something was written or left behind");
    }

    private static string Expand(string text, string output)
    {
        text = text.Replace("{out}", output, StringComparison.Ordinal).Replace("{runargs}", RunArgs, StringComparison.Ordinal)
            .Replace("{allbanned}", string.Join(' ', Enumerable.Range(0, TinyModels.Alphabet.Length + 1).Select(i => $"--bad-words-ids {i}")), StringComparison.Ordinal);
        foreach (var (name, path) in s_places) text = text.Replace("{" + name + "}", path, StringComparison.Ordinal);
        Assert.IsFalse(text.Contains('{', StringComparison.Ordinal) && text.Contains('}', StringComparison.Ordinal) && !text.Contains('"', StringComparison.Ordinal), $"unknown placeholder in '{text}'");
        return text;
    }

    /// <summary>Every file and folder under <paramref name="root"/> with its size and time of last write.</summary>
    internal static List<string> Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => File.Exists(p) ? $"{Path.GetRelativePath(root, p)} {new FileInfo(p).Length} {File.GetLastWriteTimeUtc(p):O}" : Path.GetRelativePath(root, p) + "/")
            .Order(StringComparer.Ordinal).ToList();

    private static void Must(CliHarness.Result r) => Assert.AreEqual(0, r.ExitCode, r.Out + r.Error);

    internal static void CopyFolder(string from, string to)
    {
        foreach (string dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    private static void EditJson(string path, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }
}
