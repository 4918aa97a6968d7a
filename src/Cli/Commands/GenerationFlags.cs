using System.CommandLine;
using System.Globalization;
using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Cli.Commands;

/// <summary>
/// Every <see cref="GenerationOptions"/> member as a flag, named as Hugging Face names it in kebab case
/// (<c>max_new_tokens</c> → <c>--max-new-tokens</c>). Only flags given on the command line override the base options
/// (the model folder's generation_config.json, or the defaults).
/// </summary>
public sealed class GenerationFlags
{
    private static readonly GenerationOptions Defaults = new();

    /// <summary>Most tokens a count flag (--max-new-tokens, --max-length, ...) accepts.</summary>
    public const int MaxTokens = 1_000_000;

    /// <summary>Most beams or returned sequences per prompt (each is a row of the batch, with its own cache).</summary>
    public const int MaxSequences = 64;

    /// <summary>--max-new-tokens.</summary>
    public Option<int?> MaxNewTokens { get; } = new Option<int?>("--max-new-tokens") { Description = $"Tokens to generate after the prompt (default {GenerationOptions.DefaultMaxNewTokens})." }.InRange(1, MaxTokens);
    /// <summary>--max-length.</summary>
    public Option<int?> MaxLength { get; } = new Option<int?>("--max-length") { Description = "Limit on prompt + generated tokens (used when --max-new-tokens is not given)." }.InRange(1, MaxTokens);
    /// <summary>--min-new-tokens.</summary>
    public Option<int> MinNewTokens { get; } = new Option<int>("--min-new-tokens") { Description = "End-of-sequence is suppressed until this many tokens are generated." }.InRange(0, MaxTokens);
    /// <summary>--do-sample.</summary>
    public Option<bool> DoSample { get; } = new("--do-sample") { Description = "Sample instead of greedy or beam search." };
    /// <summary>--temperature.</summary>
    public Option<double> Temperature { get; } = new("--temperature") { Description = $"Softmax temperature when sampling (default {Defaults.Temperature})." };
    /// <summary>--top-k.</summary>
    public Option<int> TopK { get; } = new Option<int>("--top-k") { Description = $"Keep the k most likely tokens when sampling; 0 = off (default {Defaults.TopK})." }.InRange(0, int.MaxValue);
    /// <summary>--top-p.</summary>
    public Option<double> TopP { get; } = new("--top-p") { Description = $"Nucleus sampling mass; 1 = off (default {Defaults.TopP})." };
    /// <summary>--num-beams.</summary>
    public Option<int> NumBeams { get; } = new Option<int>("--num-beams") { Description = $"Beam search width; 1 = no beam search (default {Defaults.NumBeams})." }.InRange(1, MaxSequences);
    /// <summary>--length-penalty.</summary>
    public Option<double> LengthPenalty { get; } = new("--length-penalty") { Description = $"Beam score = log p / length^penalty (default {Defaults.LengthPenalty})." };
    /// <summary>--early-stopping.</summary>
    public Option<string?> EarlyStopping { get; } = CreateEarlyStopping();
    /// <summary>--num-return-sequences.</summary>
    public Option<int> NumReturnSequences { get; } = new Option<int>("--num-return-sequences") { Description = "Sequences returned per prompt (default 1)." }.InRange(1, MaxSequences);
    /// <summary>--repetition-penalty.</summary>
    public Option<double> RepetitionPenalty { get; } = new("--repetition-penalty") { Description = "Penalty > 1 discourages tokens already present (CTRL paper; default 1 = off)." };
    /// <summary>--no-repeat-ngram-size.</summary>
    public Option<int> NoRepeatNgramSize { get; } = new Option<int>("--no-repeat-ngram-size") { Description = "Forbid repeating any n-gram of this size; 0 = off." }.InRange(0, MaxTokens);
    /// <summary>--bad-words-ids.</summary>
    public Option<string[]> BadWordsIds { get; } = new("--bad-words-ids") { Description = "A token-id sequence never to generate, e.g. \"318,257\"; repeat the flag for more.", AllowMultipleArgumentsPerToken = false };
    /// <summary>--eos-token-id.</summary>
    public Option<int[]> EosTokenId { get; } = new("--eos-token-id") { Description = "End-of-sequence token id(s); default from the model's config.", AllowMultipleArgumentsPerToken = true };
    /// <summary>--pad-token-id.</summary>
    public Option<int?> PadTokenId { get; } = new("--pad-token-id") { Description = "Padding token id for batched prompts." };
    /// <summary>--stop.</summary>
    public Option<string[]> Stop { get; } = new("--stop") { Description = "Stop when the decoded text contains this string (matched on text, across tokens); repeatable. \\n is a newline." };
    /// <summary>--seed.</summary>
    public Option<int?> Seed { get; } = new("--seed") { Description = "Random seed for sampling (same seed, same text)." };
    /// <summary>--output-scores.</summary>
    public Option<bool> OutputScores { get; } = new("--output-scores") { Description = "Print the per-token log-probabilities and the sequence score." };

    /// <summary>--context-overflow.</summary>
    public Option<string?> ContextOverflow { get; } = CreateContextOverflow();

    /// <summary>--context-slide-stride.</summary>
    public Option<int?> ContextSlideStride { get; } = new Option<int?>("--context-slide-stride") { Description = "With --context-overflow slide: tokens generated between two slides of the window (1 = nanoGPT; default n_positions / 4)." }.InRange(1, MaxTokens);

    /// <summary>All flags, in help order.</summary>
    public IEnumerable<Option> All =>
    [
        MaxNewTokens, MaxLength, MinNewTokens, DoSample, Temperature, TopK, TopP, NumBeams, LengthPenalty, EarlyStopping,
        NumReturnSequences, RepetitionPenalty, NoRepeatNgramSize, BadWordsIds, EosTokenId, PadTokenId, Stop, Seed, OutputScores,
        ContextOverflow, ContextSlideStride,
    ];

    /// <summary>Adds every flag to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in All) command.Add(option);
    }

    /// <summary>Applies the flags present on the command line to a copy of <paramref name="baseOptions"/>.</summary>
    public GenerationOptions Apply(ParseResult parse, GenerationOptions? baseOptions = null)
    {
        var o = baseOptions?.Clone() ?? new GenerationOptions();
        bool Has(Option option) => parse.GetResult(option) is { Implicit: false };
        if (Has(MaxNewTokens)) o.MaxNewTokens = parse.GetValue(MaxNewTokens);
        if (Has(MaxLength)) o.MaxLength = parse.GetValue(MaxLength);
        if (Has(MinNewTokens)) o.MinNewTokens = parse.GetValue(MinNewTokens);
        if (Has(DoSample)) o.DoSample = parse.GetValue(DoSample);
        if (Has(Temperature)) o.Temperature = parse.GetValue(Temperature);
        if (Has(TopK)) o.TopK = parse.GetValue(TopK);
        if (Has(TopP)) o.TopP = parse.GetValue(TopP);
        if (Has(NumBeams)) o.NumBeams = parse.GetValue(NumBeams);
        if (Has(LengthPenalty)) o.LengthPenalty = parse.GetValue(LengthPenalty);
        if (Has(EarlyStopping)) o.EarlyStopping = parse.GetValue(EarlyStopping) is "true" or null;
        if (Has(NumReturnSequences)) o.NumReturnSequences = parse.GetValue(NumReturnSequences);
        if (Has(RepetitionPenalty)) o.RepetitionPenalty = parse.GetValue(RepetitionPenalty);
        if (Has(NoRepeatNgramSize)) o.NoRepeatNgramSize = parse.GetValue(NoRepeatNgramSize);
        if (Has(BadWordsIds)) o.BadWordsIds = parse.GetValue(BadWordsIds)!.Select(ParseIdSequence).ToArray();
        if (Has(EosTokenId)) o.EosTokenIds = parse.GetValue(EosTokenId);
        if (Has(PadTokenId)) o.PadTokenId = parse.GetValue(PadTokenId);
        if (Has(Stop)) o.StopSequences = parse.GetValue(Stop)!.Select(Unescape).ToArray();
        if (Has(Seed)) o.Seed = parse.GetValue(Seed);
        if (Has(OutputScores)) o.OutputScores = parse.GetValue(OutputScores);
        if (Has(ContextOverflow)) o.ContextOverflow = parse.GetValue(ContextOverflow) == "slide" ? Onnx.Generation.ContextOverflow.SlideWindow : Onnx.Generation.ContextOverflow.Stop;
        if (Has(ContextSlideStride)) o.ContextSlideStride = parse.GetValue(ContextSlideStride);
        try
        {
            o.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliException($"invalid generation flags: {InFlags(FailureMessage.For(e))}", ExitCodes.Usage);
        }
        return o;
    }

    /// <summary>The flag a shell user types for each <see cref="GenerationOptions"/> property.</summary>
    public static string FlagOf(string property) => property switch
    {
        nameof(GenerationOptions.EosTokenIds) => "--eos-token-id",
        nameof(GenerationOptions.StopSequences) => "--stop",
        _ => "--" + System.Text.RegularExpressions.Regex.Replace(property, "(?<=[a-z0-9])([A-Z])", "-$1").ToLowerInvariant(),
    };

    /// <summary>Rewrites <see cref="GenerationOptions"/> property names in a library message as the flags that set them.</summary>
    public static string InFlags(string message)
    {
        foreach (var property in typeof(GenerationOptions).GetProperties())
            message = System.Text.RegularExpressions.Regex.Replace(message, $@"\b{property.Name}\b", FlagOf(property.Name));
        return message;
    }

    /// <summary>
    /// Checks the token ids of the options against the model's vocabulary before generation starts: an id outside it,
    /// or bad words that ban every token, are usage errors naming the flag (or generation_config.json when the value
    /// came from there).
    /// </summary>
    public void CheckIds(ParseResult parse, GenerationOptions options, int vocabSize, string configFile)
    {
        if (vocabSize <= 0) return;
        string Source(Option flag) => parse.GetResult(flag) is { Implicit: false } ? flag.Name : $"'{configFile}'";
        int Code(Option flag) => parse.GetResult(flag) is { Implicit: false } ? ExitCodes.Usage : ExitCodes.Failure;
        void Check(int id, Option flag)
        {
            if (id < 0 || id >= vocabSize)
                throw new CliException($"{Source(flag)}: token id {id} is outside the model's vocabulary of {vocabSize} tokens (0..{vocabSize - 1}).", Code(flag));
        }
        foreach (int[] word in options.BadWordsIds ?? [])
            foreach (int id in word)
                Check(id, BadWordsIds);
        foreach (int id in options.EosTokenIds ?? []) Check(id, EosTokenId);
        if (options.PadTokenId is int pad) Check(pad, PadTokenId);
        var banned = new HashSet<int>((options.BadWordsIds ?? []).Where(w => w.Length == 1).Select(w => w[0]));
        if (banned.Count == vocabSize)
            throw new CliException($"{Source(BadWordsIds)} bans every one of the model's {vocabSize} tokens (0..{vocabSize - 1}), so nothing could be generated; leave some out.", Code(BadWordsIds));
    }

    /// <summary>The beam stopping rule of --early-stopping: "never" is Hugging Face's third value; null follows GenerationOptions.EarlyStopping.</summary>
    public BeamEarlyStopping? EarlyStoppingRule(ParseResult parse) =>
        parse.GetResult(EarlyStopping) is { Implicit: false } && parse.GetValue(EarlyStopping) == "never" ? BeamEarlyStopping.Never : null;

    private static Option<string?> CreateContextOverflow()
    {
        var option = new Option<string?>("--context-overflow")
        {
            Description = "At the model's context length (n_positions): stop, or slide the window over the latest tokens and keep generating. Default: the model's (slide for models trained with aigc, stop for converted GPT-2).",
        };
        option.AcceptOnlyFromAmong("stop", "slide");
        return option;
    }

    private static Option<string?> CreateEarlyStopping()
    {
        var option = new Option<string?>("--early-stopping")
        {
            Description = "Beam search stopping: true (stop when num-beams hypotheses are finished), false (heuristic, default) or never. A bare flag means true.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        option.AcceptOnlyFromAmong("true", "false", "never");
        return option;
    }

    /// <summary>Parses "318,257" or "318 257" into token ids.</summary>
    internal static int[] ParseIdSequence(string text)
    {
        var parts = text.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new CliException($"--bad-words-ids: '{text}' holds no token id.", ExitCodes.Usage);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out ids[i]) || ids[i] < 0)
                throw new CliException($"--bad-words-ids: '{parts[i]}' in '{text}' is not a token id (a non-negative integer).", ExitCodes.Usage);
        return ids;
    }

    /// <summary>Turns the shell-friendly escapes \n, \t and \\ into characters.</summary>
    internal static string Unescape(string text) =>
        text.Replace("\\\\", "\u0000", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal)
            .Replace("\\t", "\t", StringComparison.Ordinal).Replace("\u0000", "\\", StringComparison.Ordinal);
}
