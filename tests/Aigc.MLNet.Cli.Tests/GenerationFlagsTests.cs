using System.CommandLine;
using Aigc.MLNet.Cli.Commands;
using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Cli.Tests;

[TestClass]
public sealed class GenerationFlagsTests
{
    private static (GenerationOptions Options, GenerationFlags Flags, ParseResult Parse) Map(GenerationOptions? baseOptions, params string[] args)
    {
        var flags = new GenerationFlags();
        var command = new RootCommand();
        flags.AddTo(command);
        var parse = command.Parse(args);
        Assert.AreEqual(0, parse.Errors.Count, string.Join("; ", parse.Errors.Select(e => e.Message)));
        return (flags.Apply(parse, baseOptions), flags, parse);
    }

    [TestMethod]
    public void EveryFlag_MapsToItsGenerationOption()
    {
        var (o, flags, parse) = Map(null,
            "--max-new-tokens", "33", "--max-length", "90", "--min-new-tokens", "4", "--do-sample", "--temperature", "0.7", "--top-k", "12",
            "--top-p", "0.85", "--num-beams", "3", "--length-penalty", "1.5", "--early-stopping", "--num-return-sequences", "2",
            "--repetition-penalty", "1.3", "--no-repeat-ngram-size", "3", "--bad-words-ids", "318,257", "--bad-words-ids", "11",
            "--eos-token-id", "5", "7", "--pad-token-id", "0", "--stop", "\\n\\n", "--stop", "END", "--seed", "42", "--output-scores");
        Assert.AreEqual(33, o.MaxNewTokens);
        Assert.AreEqual(90, o.MaxLength);
        Assert.AreEqual(4, o.MinNewTokens);
        Assert.IsTrue(o.DoSample);
        Assert.AreEqual(0.7, o.Temperature);
        Assert.AreEqual(12, o.TopK);
        Assert.AreEqual(0.85, o.TopP);
        Assert.AreEqual(3, o.NumBeams);
        Assert.AreEqual(1.5, o.LengthPenalty);
        Assert.IsTrue(o.EarlyStopping);
        Assert.IsNull(flags.EarlyStoppingRule(parse));
        Assert.AreEqual(2, o.NumReturnSequences);
        Assert.AreEqual(1.3, o.RepetitionPenalty);
        Assert.AreEqual(3, o.NoRepeatNgramSize);
        Assert.AreEqual(2, o.BadWordsIds!.Count);
        CollectionAssert.AreEqual(new[] { 318, 257 }, o.BadWordsIds[0]);
        CollectionAssert.AreEqual(new[] { 11 }, o.BadWordsIds[1]);
        CollectionAssert.AreEqual(new[] { 5, 7 }, o.EosTokenIds!.ToArray());
        Assert.AreEqual(0, o.PadTokenId);
        CollectionAssert.AreEqual(new[] { "\n\n", "END" }, o.StopSequences!.ToArray());
        Assert.AreEqual(42, o.Seed);
        Assert.IsTrue(o.OutputScores);
    }

    [TestMethod]
    public void EveryGenerationOptionsProperty_HasAFlag()
    {
        // Guards the mapping: a new GenerationOptions setting must get its kebab-case flag.
        var flags = new GenerationFlags();
        var names = flags.All.Select(f => f.Name.TrimStart('-').Replace("-", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var settable = typeof(GenerationOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name);
        var aliases = new Dictionary<string, string> { ["EosTokenIds"] = "EosTokenId", ["StopSequences"] = "Stop" };
        foreach (string property in settable)
            Assert.IsTrue(names.Contains(aliases.GetValueOrDefault(property, property)), $"GenerationOptions.{property} has no flag.");
    }

    [TestMethod]
    public void OnlyGivenFlags_OverrideTheBaseOptions()
    {
        var baseOptions = new GenerationOptions { MaxNewTokens = 77, DoSample = true, TopK = 3, Temperature = 0.5 };
        var (o, _, _) = Map(baseOptions, "--top-k", "9");
        Assert.AreEqual(77, o.MaxNewTokens);
        Assert.IsTrue(o.DoSample);
        Assert.AreEqual(9, o.TopK);
        Assert.AreEqual(0.5, o.Temperature);
        Assert.AreEqual(3, baseOptions.TopK, "the base options are not modified");
        var (d, _, _) = Map(null);
        Assert.AreEqual(new GenerationOptions().TopK, d.TopK);
        Assert.IsNull(d.MaxNewTokens);
    }

    [TestMethod]
    public void EarlyStoppingNever_IsPassedAsTheBeamRule()
    {
        var (o, flags, parse) = Map(null, "--num-beams", "2", "--early-stopping", "never");
        Assert.IsFalse(o.EarlyStopping);
        Assert.AreEqual(BeamEarlyStopping.Never, flags.EarlyStoppingRule(parse));
        var (f, _, _) = Map(null, "--early-stopping", "false");
        Assert.IsFalse(f.EarlyStopping);
    }

    [TestMethod]
    public void Escapes_AndIdLists()
    {
        Assert.AreEqual("a\nb\tc\\n", GenerationFlags.Unescape("a\\nb\\tc\\\\n"));
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, GenerationFlags.ParseIdSequence(" 1, 2 3"));
        var e = Assert.ThrowsExactly<CliException>(() => GenerationFlags.ParseIdSequence("1,x"));
        StringAssert.Contains(e.Message, "'x'");
        Assert.AreEqual(ExitCodes.Usage, e.ExitCode);
    }
}
