using System.Diagnostics;

namespace SetML.Samples.Bench;

/// <summary>
/// One section of the <c>bench</c> sub-command. Every public concrete subclass in this assembly is run (in name order).
/// A section measures SetML and a baseline in the same run, alternately (A B A B …), and reports their ratio per pair.
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
        return Median(times);
    }

    /// <summary>Median of <paramref name="values"/> (mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        if (v.Length == 0) throw new ArgumentException("No values.", nameof(values));
        return v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
    }

    /// <summary>
    /// Measures SetML (<paramref name="setml"/>, A) and the baseline (<paramref name="baseline"/>, B) alternately:
    /// one discarded warm-up block of each, then <see cref="BenchOptions.Pairs"/> pairs A B. Each call returns one block's
    /// figure (e.g. a median time over a few repetitions); a baseline that returns null is unavailable, and then SetML is
    /// measured alone. The row carries the medians of both sides and the SetML ÷ baseline ratio of every pair.
    /// </summary>
    public BenchRow Paired(BenchOptions options, string caseName, string unit, Func<double> setml, Func<double?>? baseline,
        string baselineName, string note = "")
    {
        setml();
        bool hasBaseline = baseline?.Invoke() is not null;
        var a = new List<double>();
        var b = new List<double>();
        for (int i = 0; i < options.Pairs; i++)
        {
            a.Add(setml());
            if (!hasBaseline) continue;
            if (baseline!() is double value) b.Add(value);
            else { hasBaseline = false; b.Clear(); }
        }
        var ratios = hasBaseline ? a.Zip(b, (x, y) => x / y).ToList() : new List<double>();
        return new BenchRow(Name, caseName, unit, Median(a), hasBaseline ? Median(b) : null, baselineName, note)
        {
            SetMLPairs = a, BaselinePairs = b, Ratios = ratios,
        };
    }
}

/// <summary>Options of a bench run.</summary>
/// <param name="Quick">Tiny sizes and few repetitions (CI smoke test); numbers are not meaningful.</param>
/// <param name="Threads">Intra-op threads for TorchSharp and for the PyTorch reference.</param>
/// <param name="Pairs">Alternating (SetML, baseline) pairs per row.</param>
/// <param name="Reference">The long-lived PyTorch reference process, or null when it is not run.</param>
public sealed record BenchOptions(bool Quick, int Threads, int Pairs = 5, ReferenceServer? Reference = null);

/// <summary>One measured row: SetML's figure, the baseline's (same run, alternating pairs), and their ratio.</summary>
/// <param name="Section">Section name.</param>
/// <param name="Case">What was measured (model, size, threads).</param>
/// <param name="Unit">Unit of the two figures (lower is better: times).</param>
/// <param name="SetML">SetML's figure (median over the pairs).</param>
/// <param name="Baseline">The baseline's figure (median over the pairs), or null when it could not be run (then <paramref name="Note"/> says why).</param>
/// <param name="BaselineName">What the baseline is.</param>
/// <param name="Note">Extra facts (e.g. matching losses, targets).</param>
public sealed record BenchRow(string Section, string Case, string Unit, double SetML, double? Baseline, string BaselineName, string Note = "")
{
    /// <summary>SetML's figure of each pair.</summary>
    public IReadOnlyList<double> SetMLPairs { get; init; } = Array.Empty<double>();

    /// <summary>The baseline's figure of each pair.</summary>
    public IReadOnlyList<double> BaselinePairs { get; init; } = Array.Empty<double>();

    /// <summary>SetML ÷ baseline of each alternating pair (empty when the baseline was not run).</summary>
    public IReadOnlyList<double> Ratios { get; init; } = Array.Empty<double>();

    /// <summary>
    /// SetML time ÷ baseline time (&lt; 1: SetML is faster): the median of the per-pair ratios, or the ratio of the
    /// two figures when the row has no pairs; null without a baseline.
    /// </summary>
    public double? TimeRatio => Ratios.Count > 0 ? BenchSection.Median(Ratios) : Baseline is double b && b > 0 ? SetML / b : null;
}
