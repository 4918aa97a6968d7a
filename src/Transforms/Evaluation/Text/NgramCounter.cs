namespace Aigc.MLNet.Transforms.Evaluation.Text;

/// <summary>Counts word n-grams per order; within an order an n-gram is its tokens joined by U+0000.</summary>
internal static class NgramCounter
{
    private const char Separator = '\0';

    /// <summary>Counts of the n-grams of orders 1..maxOrder: element n-1 holds order n.</summary>
    public static Dictionary<string, int>[] Count(IReadOnlyList<string> tokens, int maxOrder)
    {
        var counts = new Dictionary<string, int>[maxOrder];
        for (int n = 1; n <= maxOrder; n++)
            counts[n - 1] = CountOrder(tokens, n);
        return counts;
    }

    /// <summary>Counts of the n-grams of one order.</summary>
    public static Dictionary<string, int> CountOrder(IReadOnlyList<string> tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= tokens.Count; i++)
        {
            string key = Key(tokens, i, n);
            counts[key] = counts.TryGetValue(key, out int c) ? c + 1 : 1;
        }
        return counts;
    }

    /// <summary>The n-gram of order n starting at token <paramref name="start"/>.</summary>
    public static string Key(IReadOnlyList<string> tokens, int start, int n) =>
        n == 1 ? tokens[start] : string.Join(Separator, Enumerable.Range(start, n).Select(k => tokens[k]));
}
