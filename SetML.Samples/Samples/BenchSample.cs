using System.Reflection;
using SetML.Samples.Bench;
using SetML.Samples.Infrastructure;

namespace SetML.Samples.Samples;

/// <summary>
/// <c>bench</c>: runs every <see cref="BenchSection"/> (SetML vs a baseline measured in the same run) and prints
/// the ratio. Figures are reported in docs/results.md with the command that made them.
/// </summary>
public sealed class BenchSample : Sample
{
    /// <inheritdoc />
    public override string Name => "bench";

    /// <inheritdoc />
    public override string Description => "Speed of SetML vs baselines measured in the same run (PyTorch reference, naive solvers)";

    /// <inheritdoc />
    public override int DefaultEpochs => 1;

    /// <inheritdoc />
    public override string Help =>
        "Runs each benchmark section and prints SetML's figure, the baseline's (same run, same machine) and the ratio.\n" +
        "Sections: " + string.Join(", ", Sections().Select(s => $"{s.Name} ({s.Description})")) + ".\n" +
        "The PyTorch reference (../shared/bench/reference_pytorch.py) runs when /usr/bin/python3 has torch (apt-get install python3-torch libopenblas0-openmp).\n" +
        "--quick runs 1–2 repetitions (smoke test). Each section runs with 1 and with 2 intra-op threads (TorchSharp and PyTorch alike); --quick runs 2 threads only.";

    internal static IReadOnlyList<BenchSection> Sections()
        => typeof(BenchSection).Assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && typeof(BenchSection).IsAssignableFrom(t))
            .Select(t => (BenchSection)Activator.CreateInstance(t)!)
            .OrderBy(s => s.Name, StringComparer.Ordinal).ToList();

    /// <inheritdoc />
    public override int Run(SampleContext context)
    {
        var rows = new List<BenchRow>();
        foreach (var threads in context.Quick ? new[] { 2 } : new[] { 1, 2 })
        foreach (var section in Sections())
        {
            var options = new BenchOptions(context.Quick, threads);
            if (context.Cancellation.IsCancellationRequested) break;
            context.Out.WriteLine($"== {section.Name} ({threads} thread{(threads > 1 ? "s" : "")}): {section.Description}");
            foreach (var row in section.Run(options, context.Out))
            {
                rows.Add(row);
                context.Out.WriteLine($"  {row.Case}: SetML {row.SetML:G4} {row.Unit}" +
                    (row.Baseline is double b ? $", {row.BaselineName} {b:G4} {row.Unit}, ratio {row.Speedup:F2}× (baseline / SetML)" : "") +
                    (row.Note.Length > 0 ? $"; {row.Note}" : ""));
                var metrics = new Dictionary<string, double> { [$"setml_{row.Unit}"] = row.SetML };
                if (row.Baseline is double bb) { metrics[$"baseline_{row.Unit}"] = bb; metrics["speedup"] = row.Speedup!.Value; }
                context.Results.Add($"{row.Section}: {row.Case}", metrics, null,
                    new Dictionary<string, object?> { ["baseline"] = row.BaselineName, ["note"] = row.Note, ["threads"] = options.Threads });
            }
        }
        return 0;
    }
}
