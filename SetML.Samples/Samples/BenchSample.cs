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
        "Runs each benchmark section and prints SetML's figure, the baseline's (same run, same machine) and the ratio SetML ÷ baseline.\n" +
        "SetML and the baseline run alternately, A B A B (--pairs pairs, default 5, after one discarded warm-up block each): the row's figures are\n" +
        "medians over the pairs, its time_ratio the median of the per-pair ratios, with their spread (min–max).\n" +
        "Sections: " + string.Join(", ", Sections().Select(s => $"{s.Name} ({s.Description})")) + ".\n" +
        "The PyTorch reference (../shared/bench/reference_pytorch.py, through Bench/reference_server.py, one long-lived child process whose start-up is not timed)\n" +
        "runs when /usr/bin/python3 has torch (apt-get install python3-torch libopenblas0-openmp).\n" +
        "--quick: tiny sizes, 1 pair (smoke test). Each section runs with 1 and with 2 intra-op threads (TorchSharp and PyTorch alike); --quick runs 2 threads only.";

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> Options => new[]
    {
        ("--pairs", "alternating (SetML, baseline) pairs per row (default 5; 1 with --quick)"),
        ("--threads", "run only this number of intra-op threads (default: 1, then 2)"),
    };

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> TextOptions => new[]
    {
        ("--sections", "comma-separated section names to run (default: all)"),
    };

    internal static IReadOnlyList<BenchSection> Sections()
        => typeof(BenchSection).Assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && typeof(BenchSection).IsAssignableFrom(t))
            .Select(t => (BenchSection)Activator.CreateInstance(t)!)
            .OrderBy(s => s.Name, StringComparer.Ordinal).ToList();

    /// <inheritdoc />
    public override int Run(SampleContext context)
    {
        int pairs = (int)context.Option("--pairs", context.Quick ? 1 : 5);
        if (pairs < 1) throw new ArgumentException($"--pairs must be at least 1, got {pairs}.");
        var names = context.TextOption("--sections")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var sections = Sections().Where(s => names == null || names.Contains(s.Name)).ToList();
        if (names != null && names.Except(sections.Select(s => s.Name)).FirstOrDefault() is string unknown)
            throw new ArgumentException($"--sections: unknown section '{unknown}'; known: {string.Join(", ", Sections().Select(s => s.Name))}.");
        var threadCounts = context.Option("--threads", 0) is long t and > 0 ? new[] { (int)t } : context.Quick ? new[] { 2 } : new[] { 1, 2 };
        context.Out.WriteLine($"Load average before: {LoadAverage()}; {Environment.ProcessorCount} cores; {pairs} pair(s) per row");
        context.Out.WriteLine($"MKL code path: {SetML.Training.TorchRuntime.MklCodePath}");
        context.Out.WriteLine($"libtorch dispatch stubs: {SetML.Training.TorchRuntime.DispatchStubCache}");
        if (!context.Quick) context.Out.WriteLine(FmaPeak.Describe());
        using var reference = ReferenceServer.Start(threadCounts.Max(), context.Out);
        if (reference != null)
            context.Out.WriteLine($"PyTorch reference {reference.TorchVersion}: child process ready in {reference.StartupSeconds:F1} s (start-up excluded from every timing); " +
                                  $"OpenMP waiting: {PyTorchReference.ReferenceWaitPolicy}; SetML: {PyTorchReference.SetMLWaitPolicy}");
        var rows = new List<BenchRow>();
        foreach (var threads in threadCounts)
        foreach (var section in sections)
        {
            var options = new BenchOptions(context.Quick, threads, pairs, reference);
            if (context.Cancellation.IsCancellationRequested) break;
            context.Out.WriteLine($"== {section.Name} ({threads} thread{(threads > 1 ? "s" : "")}): {section.Description}");
            foreach (var row in section.Run(options, context.Out))
            {
                rows.Add(row);
                Report(context, row, threads);
            }
        }
        context.Out.WriteLine($"Load average after: {LoadAverage()}");
        return 0;
    }

    private static void Report(SampleContext context, BenchRow row, int threads)
    {
        context.Out.WriteLine($"  {row.Case}: SetML {row.SetML:G4} {row.Unit}" +
            (row.Baseline is double b ? $", {row.BaselineName} {b:G4} {row.Unit}, time ratio {row.TimeRatio:F2}" : "") +
            (row.Ratios.Count > 1 ? $" (pairs {row.Ratios.Min():F2}–{row.Ratios.Max():F2})" : "") +
            (row.Note.Length > 0 ? $"; {row.Note}" : ""));
        if (row.Ratios.Count > 0)
            context.Out.WriteLine("    pairs (SetML / baseline): " + string.Join(", ", row.SetMLPairs.Zip(row.BaselinePairs, (x, y) => $"{x:G4}/{y:G4}")));
        var unit = row.Unit.Replace("µs/prediction", "us_per_prediction");
        var metrics = new Dictionary<string, double> { [$"setml_{unit}"] = row.SetML };
        if (row.Baseline is double bb) { metrics[$"baseline_{unit}"] = bb; metrics["time_ratio"] = row.TimeRatio!.Value; }
        if (row.Ratios.Count > 0) { metrics["ratio_min"] = row.Ratios.Min(); metrics["ratio_max"] = row.Ratios.Max(); metrics["pairs"] = row.Ratios.Count; }
        context.Results.Add($"{row.Section}: {row.Case}", metrics, null,
            new Dictionary<string, object?> { ["baseline"] = row.BaselineName, ["note"] = row.Note, ["threads"] = threads });
    }

    /// <summary>The 1-, 5- and 15-minute load averages (Linux), or "n/a".</summary>
    internal static string LoadAverage()
        => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
