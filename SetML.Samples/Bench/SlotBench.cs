using SetML.Modules;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Samples.Bench;

/// <summary>
/// <c>slot</c>: the reference's <c>slot</c> config with identical shapes — a Slot Set Encoder block (K = 32 deterministic
/// slots, h = d̂ = 128, d = 5, sum aggregation) encodes one set of 100,000 elements in chunks of 1,000 (mini-batch
/// consistent streaming, no_grad), alternately with the PyTorch reference; then SetML alone streams a 10⁷-element set
/// and reports elements/s and the process's peak working-set growth.
/// </summary>
public sealed class SlotBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "slot";

    /// <inheritdoc />
    public override string Description => "Slot Set Encoder streaming (K 32, 128-d, chunks of 1,000) vs the PyTorch reference slot config";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        const int din = 5, chunk = 1000;
        int n = options.Quick ? 5_000 : 100_000, reps = options.Quick ? 1 : 3;
        torch.set_num_threads(options.Threads);
        using var layer = new SlotSetEncoderLayer(din, 32, 128, 128, PoolingKind.Sum, SlotInitialization.Deterministic);
        SetTransformerReferenceBench.DeterministicInit(layer);
        layer.eval();
        using var x = Elements(n, din);
        var request = new Dictionary<string, object> { ["config"] = "slot", ["n"] = n, ["chunk"] = chunk, ["din"] = din, ["threads"] = options.Threads, ["reps"] = reps };
        var row = Paired(options, $"encode n={n:N0} in chunks of {chunk:N0}, {options.Threads} thread(s)", "ms",
            () => MedianMs(() => Encode(layer, i => x.narrow(1, i, Math.Min(chunk, n - i)), n, chunk).Dispose(), 0, reps),
            () => options.Reference?.MedianMs(request, log), "PyTorch (reference_pytorch.py slot)");
        yield return row with { Note = $"{n / row.SetML * 1e3:N0} elements/s" + (row.Baseline is double b ? $" (reference {n / b * 1e3:N0})" : "") };
        if (options.Threads != 1 && !options.Quick) yield break;

        // 10⁷ elements (10⁵ with --quick), generated chunk by chunk: the set is never in memory as a whole.
        long big = options.Quick ? 100_000 : 10_000_000;
        long before = Environment.WorkingSet;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var generation = new System.Diagnostics.Stopwatch();
        using (var state = Encode(layer, i => Elements(chunk, din, i), big, chunk, generation)) { }
        double seconds = watch.Elapsed.TotalSeconds, generating = generation.Elapsed.TotalSeconds;
        System.Diagnostics.Process.GetCurrentProcess().Refresh();
        double growthMb = (System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 - before) / 1048576.0;
        double rate = big / seconds;
        yield return new BenchRow(Name, $"stream n={big:N0} in chunks of {chunk:N0}, {options.Threads} thread(s)", "ms", seconds * 1e3, null, "",
            $"{rate:N0} elements/s (target ≥ 3,000,000: {(rate >= 3e6 ? "met" : "NOT met")}); of the time, {generating:F2} s generated the "
            + $"elements ({big / Math.Max(1e-9, seconds - generating):N0} elements/s encoding alone); peak working set {Math.Max(0, growthMb):F0} MB above the start of the stream");
    }

    /// <summary>
    /// Σ over chunks of the block's partial state (no_grad): the mini-batch-consistent encoding of n elements;
    /// <paramref name="generation"/>, when given, times the calls of <paramref name="chunkAt"/>.
    /// </summary>
    private static Tensor Encode(SlotSetEncoderLayer layer, Func<long, Tensor> chunkAt, long n, int chunk, System.Diagnostics.Stopwatch? generation = null)
    {
        using var _ = torch.no_grad();
        using var slots = layer.SampleSlots(1);
        var state = torch.zeros(1, 32, 128);
        using var one = 1.0.ToScalar();
        for (long i = 0; i < n; i += chunk)
        {
            using var scope = torch.NewDisposeScope();
            generation?.Start();
            var c = chunkAt(i);
            generation?.Stop();
            using var mask = torch.ones(1, c.shape[1], dtype: ScalarType.Bool);
            // As the library's streaming paths (StreamingSetEncoder.Add, PartialSetEncoder.EncodePartial) do: a chunk
            // under 2,048 elements runs on the calling thread alone instead of waking the OpenMP team for tiny ops.
            using var threads = IntraOpThreads.ForWork(c.shape[0] * c.shape[1]);
            state.add_(layer.Partial(c, mask, slots), one);
        }
        return state;
    }

    /// <summary>The reference's elements: det_uniform(n·d, seed 7)·2 − 1 as [1, n, d], starting at element <paramref name="offset"/>.</summary>
    private static Tensor Elements(long n, int din, long offset = 0)
    {
        using var scope = torch.NewDisposeScope();
        var i = ScalarOps.Arange(n * din, dtype: ScalarType.Float64).AddScalar(offset * din);
        var u = torch.sin(i.MulScalar(12.9898).AddScalar(7 * 78.233)).MulScalar(43758.5453);
        return (u - u.floor()).MulScalar(2).SubScalar(1.0).to(ScalarType.Float32).view(1, n, din).MoveToOuterDisposeScope();
    }
}
