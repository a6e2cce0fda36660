using System.Diagnostics;

namespace SetML.Samples.Bench;

/// <summary>
/// One section of the <c>bench</c> sub-command. Every public concrete subclass in this assembly is run (in name order).
/// A section measures SetML and a baseline in the same run and reports their ratio.
/// </summary>
public abstract class BenchSection
{
    /// <summary>Short name, e.g. <c>st_train</c>.</summary>
    public abstract string Name { get; }

    /// <summary>What is measured, one line.</summary>
    public abstract string Description { get; }

    /// <summary>Runs the section and returns its rows.</summary>
    public abstract IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log);

    /// <summary>Median wall time in ms of <paramref name="action"/> over <paramref name="reps"/> runs after <paramref name="warmup"/>.</summary>
    public static double MedianMs(Action action, int warmup, int reps)
    {
        for (int i = 0; i < warmup; i++) action();
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return reps % 2 == 1 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    }
}

/// <summary>Options of a bench run.</summary>
/// <param name="Quick">Few repetitions (smoke test); numbers are not meaningful.</param>
/// <param name="Threads">Intra-op threads for TorchSharp and for the PyTorch reference.</param>
public sealed record BenchOptions(bool Quick, int Threads);

/// <summary>One measured row: SetML's figure, the baseline's (same run), and what ours is compared with.</summary>
/// <param name="Section">Section name.</param>
/// <param name="Case">What was measured (model, size, threads).</param>
/// <param name="Unit">Unit of the two figures (lower is better for times).</param>
/// <param name="SetML">SetML's figure.</param>
/// <param name="Baseline">The baseline's figure, or null when it could not be run (then <paramref name="Note"/> says why).</param>
/// <param name="BaselineName">What the baseline is.</param>
/// <param name="Note">Extra facts (e.g. matching losses).</param>
public sealed record BenchRow(string Section, string Case, string Unit, double SetML, double? Baseline, string BaselineName, string Note = "")
{
    /// <summary>Baseline ÷ SetML for times (> 1 means SetML is faster).</summary>
    public double? Speedup => Baseline is double b && SetML > 0 ? b / SetML : null;
}
