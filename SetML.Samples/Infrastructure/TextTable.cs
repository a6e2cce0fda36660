using System.Globalization;

namespace SetML.Samples.Infrastructure;

/// <summary>
/// A results table printed as Markdown (aligned columns), so the console output can be pasted into docs/results.md as is.
/// </summary>
public sealed class TextTable
{
    private readonly string[] _headers;
    private readonly List<string[]> _rows = new();

    /// <summary>Creates a table with the given column headers.</summary>
    public TextTable(params string[] headers) => _headers = headers;

    /// <summary>Adds a row; <c>double</c> cells are formatted with <see cref="Number"/>, null as "—".</summary>
    public TextTable Row(params object?[] cells)
    {
        if (cells.Length != _headers.Length) throw new ArgumentException($"The table has {_headers.Length} columns, the row has {cells.Length}.", nameof(cells));
        _rows.Add(cells.Select(c => c switch
        {
            null => "—",
            double d => Number(d),
            float f => Number(f),
            IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
            _ => c.ToString() ?? "",
        }).ToArray());
        return this;
    }

    /// <summary>A metric as printed in tables: 4 decimals, "—" for NaN.</summary>
    public static string Number(double d) => double.IsNaN(d) ? "—" : d.ToString("0.0000", CultureInfo.InvariantCulture);

    /// <summary>Writes the title and the table.</summary>
    public void Print(TextWriter output, string? title = null)
    {
        if (title != null) { output.WriteLine(); output.WriteLine(title); output.WriteLine(); }
        var widths = _headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        string Line(IReadOnlyList<string> cells) => "| " + string.Join(" | ", cells.Select((c, i) => c.PadRight(widths[i]))) + " |";
        output.WriteLine(Line(_headers));
        output.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (var r in _rows) output.WriteLine(Line(r));
        output.WriteLine();
    }
}
