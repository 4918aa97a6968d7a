using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Aigc.MLNet.Transforms.Evaluation.Text;

/// <summary>The sacrebleu tokenizers this project reproduces.</summary>
public enum BleuTokenizer
{
    /// <summary>sacrebleu's default <c>13a</c>: mteval-v13a.pl tokenization (ASCII punctuation and symbols split off).</summary>
    Mteval13a = 0,

    /// <summary>sacrebleu's <c>intl</c>: mteval-v14.pl international tokenization (every Unicode punctuation and symbol).</summary>
    International = 1,

    /// <summary>sacrebleu's <c>none</c>: the text is only split on whitespace.</summary>
    None = 2,
}

/// <summary>Turns text into the space-separated tokens sacrebleu's tokenizers produce.</summary>
public static partial class BleuTokenization
{
    /// <summary>The name sacrebleu prints for a tokenizer in its signature (<c>13a</c>, <c>intl</c>, <c>none</c>).</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    public static string SignatureName(BleuTokenizer tokenizer) => tokenizer switch
    {
        BleuTokenizer.Mteval13a => "13a",
        BleuTokenizer.International => "intl",
        BleuTokenizer.None => "none",
        _ => throw new ArgumentOutOfRangeException(nameof(tokenizer), tokenizer, "Expected 13a, intl or none."),
    };

    /// <summary>Parses a sacrebleu tokenizer name (<c>13a</c>, <c>intl</c>, <c>none</c>).</summary>
    /// <param name="name">The name as sacrebleu's <c>--tokenize</c> option spells it.</param>
    public static BleuTokenizer Parse(string name) => name switch
    {
        "13a" => BleuTokenizer.Mteval13a,
        "intl" => BleuTokenizer.International,
        "none" => BleuTokenizer.None,
        _ => throw new ArgumentException($"Unknown BLEU tokenizer '{name}'; expected '13a', 'intl' or 'none'.", nameof(name)),
    };

    /// <summary>Tokenizes one line and returns its tokens.</summary>
    /// <param name="line">The text (a segment).</param>
    /// <param name="tokenizer">Which sacrebleu tokenizer to reproduce.</param>
    public static string[] Tokenize(string line, BleuTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(line);
        string spaced = tokenizer switch
        {
            BleuTokenizer.Mteval13a => Mteval13a(line),
            BleuTokenizer.International => International(line),
            BleuTokenizer.None => line,
            _ => throw new ArgumentOutOfRangeException(nameof(tokenizer), tokenizer, "Expected 13a, intl or none."),
        };
        return SplitOnWhitespace(spaced);
    }

    /// <summary>Splits like Python's <c>str.split()</c>: on runs of Unicode whitespace, dropping empty pieces.</summary>
    internal static string[] SplitOnWhitespace(string text)
    {
        var tokens = new List<string>();
        int start = -1;
        for (int i = 0; i < text.Length; i++)
        {
            if (IsPythonWhitespace(text[i]))
            {
                if (start >= 0)
                {
                    tokens.Add(text[start..i]);
                    start = -1;
                }
            }
            else if (start < 0)
            {
                start = i;
            }
        }
        if (start >= 0)
            tokens.Add(text[start..]);
        return tokens.ToArray();
    }

    // Python's str.isspace also counts the information separators U+001C..U+001F, which .NET does not.
    private static bool IsPythonWhitespace(char c) => char.IsWhiteSpace(c) || (c >= '\u001c' && c <= '\u001f');

    private static string Mteval13a(string line)
    {
        line = line.Replace("<skipped>", "", StringComparison.Ordinal)
                   .Replace("-\n", "", StringComparison.Ordinal)
                   .Replace("\n", " ", StringComparison.Ordinal);
        if (line.Contains('&'))
        {
            line = line.Replace("&quot;", "\"", StringComparison.Ordinal)
                       .Replace("&amp;", "&", StringComparison.Ordinal)
                       .Replace("&lt;", "<", StringComparison.Ordinal)
                       .Replace("&gt;", ">", StringComparison.Ordinal);
        }
        line = " " + line + " ";
        line = AsciiSymbols().Replace(line, " $1 ");
        line = PeriodCommaAfterNonDigit().Replace(line, "$1 $2 ");
        line = PeriodCommaBeforeNonDigit().Replace(line, " $1 $2");
        line = DashAfterDigit().Replace(line, "$1 $2 ");
        return line;
    }

    // The character class of mteval-v13a: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
    [GeneratedRegex(@"([\{-\~\[-\` -\&\(-\+\:-\@\/])", RegexOptions.CultureInvariant)]
    private static partial Regex AsciiSymbols();

    [GeneratedRegex(@"([^0-9])([\.,])", RegexOptions.CultureInvariant)]
    private static partial Regex PeriodCommaAfterNonDigit();

    [GeneratedRegex(@"([\.,])([^0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex PeriodCommaBeforeNonDigit();

    [GeneratedRegex(@"([0-9])(-)", RegexOptions.CultureInvariant)]
    private static partial Regex DashAfterDigit();

    // mteval-v14 international rules applied on Unicode scalar values (not UTF-16 units, so astral symbols such as
    // emoji are classified like Python does): s/(\P{N})(\p{P})/$1 $2 /g; s/(\p{P})(\P{N})/ $1 $2/g; s/(\p{S})/ $1 /g.
    private static string International(string line)
    {
        var runes = ToRunes(line);
        runes = ReplacePairs(runes, (a, b) => !IsNumber(a) && IsPunctuation(b), before: false);
        runes = ReplacePairs(runes, (a, b) => IsPunctuation(a) && !IsNumber(b), before: true);
        var result = new StringBuilder(line.Length * 2);
        foreach (var r in runes)
        {
            if (IsSymbol(r))
                result.Append(' ').Append(r.ToString()).Append(' ');
            else
                result.Append(r.ToString());
        }
        return result.ToString();
    }

    private static List<Rune> ToRunes(string text)
    {
        var runes = new List<Rune>(text.Length);
        foreach (var r in text.EnumerateRunes())
            runes.Add(r);
        return runes;
    }

    // One left-to-right, non-overlapping pass of a two-character regex substitution:
    // "$1 $2 " when before is false, " $1 $2" when before is true.
    private static List<Rune> ReplacePairs(List<Rune> runes, Func<Rune, Rune, bool> matches, bool before)
    {
        var space = new Rune(' ');
        var output = new List<Rune>(runes.Count * 2);
        int i = 0;
        while (i < runes.Count)
        {
            if (i + 1 < runes.Count && matches(runes[i], runes[i + 1]))
            {
                if (before)
                    output.Add(space);
                output.Add(runes[i]);
                output.Add(space);
                output.Add(runes[i + 1]);
                if (!before)
                    output.Add(space);
                i += 2;
            }
            else
            {
                output.Add(runes[i]);
                i++;
            }
        }
        return output;
    }

    private static bool IsNumber(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.DecimalDigitNumber
        or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    private static bool IsPunctuation(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation
        or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
        or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
        or UnicodeCategory.OtherPunctuation;

    private static bool IsSymbol(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.MathSymbol
        or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol or UnicodeCategory.OtherSymbol;
}
