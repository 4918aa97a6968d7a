namespace Aigc.MLNet.Notebooks.Tests;

/// <summary>What a notebook cell displayed: HTML (pictures arrive as data:image/png) or any other value.</summary>
public sealed record DisplayedValue(string? Html, object? Value);

/// <summary>HTML content, as .NET Interactive's <c>HTML(...)</c> helper returns.</summary>
public sealed record HtmlContent(string Value)
{
    /// <inheritdoc/>
    public override string ToString() => Value;
}

/// <summary>
/// The globals a Polyglot C# kernel gives every cell (<c>display</c>, <c>HTML</c>), recorded so tests can check that
/// each notebook shows its pictures.
/// </summary>
public sealed class NotebookGlobals
{
    /// <summary>Everything displayed so far, in order.</summary>
    public List<DisplayedValue> Displayed { get; } = [];

    /// <summary>Shows a value below the cell.</summary>
    public object? display(object? value)
    {
        Displayed.Add(value is HtmlContent h ? new DisplayedValue(h.Value, null) : new DisplayedValue(null, value));
        if (value is not HtmlContent) Console.WriteLine(value);
        return value;
    }

    /// <summary>Marks a string as HTML.</summary>
    public HtmlContent HTML(string html) => new(html);
}
