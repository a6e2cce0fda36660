using System.Diagnostics;
using SetML.Samples.Infrastructure;
using SetML.Samples.Reliability;

namespace SetML.Samples.Samples;

/// <summary>
/// <c>fuzz</c>: the long model-file fuzzing run (docs/reliability.md). Thousands of corrupted variants of the golden
/// model files (SetML.Tests/Golden), each loaded and checked; prints the table variant kind → outcome counts.
/// </summary>
public sealed class FuzzSample : Sample
{
    /// <inheritdoc />
    public override string Name => "fuzz";

    /// <inheritdoc />
    public override string Description => "Model-file fuzzing: corrupted golden model files must load identically or fail with a clear managed error";

    /// <inheritdoc />
    public override int DefaultEpochs => 1;

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> Options => new[]
    {
        ("--variants", "number of variants (default 5000; --quick: 44), spread over every golden file of every format version"),
    };

    /// <inheritdoc />
    public override string Help =>
        "Makes variants of every golden model file — " + string.Join(", ", ModelFileFuzzer.Kinds) + " —\n" +
        "loads each in this process and classifies the outcome: loaded with identical predictions, refused by SetML\n" +
        "(SetMLModelFormatException), refused by ML.NET/System.IO.Compression with a managed exception, or a failure\n" +
        "(silent difference, unclear exception, hang > 10 s). A native crash ends the process. Exit code 1 on any failure.\n" +
        "--seed changes the variants; --epochs is unused.";

    /// <inheritdoc />
    public override int Run(SampleContext context)
    {
        var o = context.Out;
        int variants = (int)Math.Min(int.MaxValue, context.Option("--variants", context.Quick ? 44 : 5000));
        string? golden = FindGolden();
        if (golden == null)
        {
            o.WriteLine("Error: no golden folder found (SetML.Tests/Golden from the current folder upwards); run from the SetML checkout.");
            return SampleCli.UsageError;
        }
        var folders = Directory.GetDirectories(golden, "v*").Order(StringComparer.Ordinal).ToArray();
        int files = folders.Sum(f => Directory.GetFiles(f, "*.zip").Length);
        int perFile = Math.Max(1, (variants + files - 1) / files);
        o.WriteLine($"{files} golden files in {string.Join(", ", folders.Select(Path.GetFileName))}; {perFile} variants each ({perFile * files} in all), seed {context.Seed}.");

        var watch = Stopwatch.StartNew();
        var results = new List<FuzzResult>();
        foreach (var folder in folders)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            results.AddRange(ModelFileFuzzer.Run(folder, perFile, context.Seed + folders.ToList().IndexOf(folder), TimeSpan.FromSeconds(10), r =>
            {
                if ((results.Count + 1) % 500 == 0) o.WriteLine($"  … {results.Count + 1} variants, {watch.Elapsed.TotalSeconds:0} s");
                context.Cancellation.ThrowIfCancellationRequested();
            }));
        }
        o.WriteLine();
        o.Write(FuzzReport.Table(results));
        o.WriteLine();
        o.WriteLine($"{results.Count} variants in {watch.Elapsed.TotalSeconds:0.0} s; slowest load {results.Max(r => r.Elapsed.TotalMilliseconds):0} ms.");
        o.WriteLine("One message per kind and outcome:");
        foreach (var group in results.Where(r => r.Detail != null).GroupBy(r => (r.Kind, r.Outcome)))
            o.WriteLine($"  {group.Key.Kind} / {group.Key.Outcome}: {Shorten(group.First().Detail!)}");
        foreach (var kind in ModelFileFuzzer.Kinds)
        {
            var of = results.Where(r => r.Kind == kind).ToList();
            if (of.Count == 0) continue;
            context.Results.Add(kind, Enum.GetValues<FuzzOutcome>().ToDictionary(x => x.ToString(), x => (double)of.Count(r => r.Outcome == x)));
        }
        var failures = results.Where(r => r.IsFailure).ToList();
        foreach (var f in failures.Take(20)) o.WriteLine($"FAILURE {f.Kind} of {f.Source}: {f.Outcome}: {f.Detail}");
        o.WriteLine(failures.Count == 0 ? "0 native crashes, 0 hangs, 0 silent differences, 0 unclear errors." : $"{failures.Count} failures.");
        return failures.Count == 0 ? 0 : 1;
    }

    private static string Shorten(string s) => s.Length <= 220 ? s : s[..220] + "…";

    /// <summary>SetML.Tests/Golden from the current folder upwards, or the Golden folder next to this assembly (test output).</summary>
    internal static string? FindGolden()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "SetML.Tests", "Golden");
                if (Directory.Exists(candidate)) return candidate;
            }
        var local = Path.Combine(AppContext.BaseDirectory, "Golden");
        return Directory.Exists(local) ? local : null;
    }
}
