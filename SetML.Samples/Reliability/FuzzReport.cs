namespace SetML.Samples.Reliability;

/// <summary>Summaries of <see cref="ModelFileFuzzer"/> runs.</summary>
public static class FuzzReport
{
    /// <summary>A Markdown table: variant kind → count of each outcome (columns in <see cref="FuzzOutcome"/> order).</summary>
    public static string Table(IReadOnlyList<FuzzResult> results)
    {
        var outcomes = Enum.GetValues<FuzzOutcome>();
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("| variant kind | variants | " + string.Join(" | ", outcomes) + " |");
        sb.AppendLine("| --- | ---: | " + string.Join(" | ", outcomes.Select(_ => "---:")) + " |");
        foreach (var kind in ModelFileFuzzer.Kinds.Where(k => results.Any(r => r.Kind == k)))
        {
            var of = results.Where(r => r.Kind == kind).ToList();
            sb.AppendLine($"| {kind} | {of.Count} | " + string.Join(" | ", outcomes.Select(o => of.Count(r => r.Outcome == o))) + " |");
        }
        sb.AppendLine($"| **all** | {results.Count} | " + string.Join(" | ", outcomes.Select(o => results.Count(r => r.Outcome == o))) + " |");
        return sb.ToString();
    }
}
