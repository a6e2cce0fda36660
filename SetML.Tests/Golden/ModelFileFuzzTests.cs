using System.Diagnostics;
using SetML.Samples.Reliability;

namespace SetML.Tests.Golden;

/// <summary>
/// Corrupts every golden model file (<see cref="ModelFileFuzzer"/>: byte flips anywhere, in the weights, in the spec
/// JSON; spec edits with valid checksums; truncations; entries removed, duplicated or swapped; zip-bomb-sized entry
/// headers; foreign files; newer format versions) and loads each variant: it must load and predict identically, or be
/// refused with a managed exception that says what is wrong — never a native crash (which would end this test host),
/// a hang (&gt; 10 s) or a silent difference. The longer run is <c>dotnet run --project SetML.Samples -c Release -- fuzz</c>.
/// </summary>
[TestClass]
public sealed class ModelFileFuzzTests
{
    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void EveryVariantOfEveryGoldenFileLoadsIdenticallyOrFailsClearly()
    {
        var watch = Stopwatch.StartNew();
        int newest = GoldenModelTests.Versions.Max();
        var results = ModelFileFuzzer.Run(GoldenModelTests.Folder(newest), variantsPerFile: 11, seed: 2024, TimeSpan.FromSeconds(10));
        // The oldest format goes through the migration path: a smaller share of variants.
        results.AddRange(ModelFileFuzzer.Run(GoldenModelTests.Folder(1), variantsPerFile: 2, seed: 7, TimeSpan.FromSeconds(10)));
        Console.WriteLine(FuzzReport.Table(results));
        Console.WriteLine($"{results.Count} variants in {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.IsGreaterThanOrEqualTo(300, results.Count);
        foreach (var kind in ModelFileFuzzer.Kinds) Assert.IsTrue(results.Any(r => r.Kind == kind), $"no variant of kind {kind}");
        var failures = results.Where(r => r.IsFailure).Select(r => $"{r.Kind} of {r.Source}: {r.Outcome}: {r.Detail}").ToList();
        Assert.IsEmpty(failures, string.Join("\n", failures));
        Assert.IsTrue(results.Any(r => r.Outcome == FuzzOutcome.RejectedBySetML), "no variant reached SetML's checks");
    }
}
