using SetML.Models;
using SetML.Losses;
using SetML.Modules.SetPrediction;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Samples.Bench;

/// <summary>
/// <c>assignment</c>: the exact linear-assignment solver (Jonker–Volgenant shortest augmenting paths, O(n³)) on random
/// 342×342 costs — DSPN's MNIST set size — against the textbook O(n⁴) Hungarian algorithm in the same run. Target: &lt; 20 ms
/// on one core. The solver is single-threaded, so it runs once (in the 1-thread pass; the 2-thread pass with --quick).
/// </summary>
public sealed class AssignmentBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "assignment";

    /// <inheritdoc />
    public override string Description => "exact linear assignment 342×342 vs the textbook O(n⁴) Hungarian algorithm";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        if (options.Threads != (options.Quick ? 2 : 1)) yield break;
        int n = options.Quick ? 60 : 342, runs = options.Quick ? 3 : 15, baselineRuns = options.Quick ? 1 : 3;
        var rng = new Random(0);
        var problems = Enumerable.Range(0, runs).Select(_ => Enumerable.Range(0, n * n).Select(_ => rng.NextDouble()).ToArray()).ToList();
        int k = 0, kb = 0;
        double ours = MedianMs(() => LinearAssignment.Solve(problems[k++ % runs], n, n), 1, runs);
        double naive = MedianMs(() => NaiveHungarian(problems[kb++ % runs], n), 0, baselineRuns);
        double a = LinearAssignment.TotalCost(problems[0], n, LinearAssignment.Solve(problems[0], n, n));
        double b = LinearAssignment.TotalCost(problems[0], n, NaiveHungarian(problems[0], n));
        if (Math.Abs(a - b) > 1e-9 * Math.Max(1, Math.Abs(a))) throw new InvalidOperationException($"The two solvers disagree: {a} vs {b}.");
        yield return new BenchRow(Name, $"{n}×{n}, 1 core", "ms", ours, naive, "textbook O(n⁴) Hungarian",
            $"same optimum; target < 20 ms {(ours < 20 ? "met" : "NOT met")}");
    }

    /// <summary>
    /// The textbook O(n⁴) Hungarian algorithm: the same dual potentials and augmenting paths as the solver, but the
    /// minimum slack is recomputed over all (visited row, free column) pairs at every step instead of being updated.
    /// </summary>
    internal static int[] NaiveHungarian(double[] a, int n)
    {
        var u = new double[n + 1];
        var v = new double[n + 1];
        var p = new int[n + 1];
        var way = new int[n + 1];
        var usedCol = new bool[n + 1];
        for (int i = 1; i <= n; i++)
        {
            p[0] = i;
            int j0 = 0;
            Array.Clear(usedCol);
            var tree = new List<(int Row, int Col)>();
            do
            {
                usedCol[j0] = true;
                tree.Add((p[j0], j0));
                double delta = double.PositiveInfinity; int j1 = 0, from = 0;
                foreach (var (row, col) in tree)
                    for (int j = 1; j <= n; j++)
                    {
                        if (usedCol[j]) continue;
                        double cur = a[(row - 1) * n + j - 1] - u[row] - v[j];
                        if (cur < delta) { delta = cur; j1 = j; from = col; }
                    }
                way[j1] = from;
                for (int j = 0; j <= n; j++)
                    if (usedCol[j]) { u[p[j]] += delta; v[j] -= delta; }
                j0 = j1;
            } while (p[j0] != 0);
            do
            {
                int j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        var result = new int[n];
        for (int j = 1; j <= n; j++) result[p[j] - 1] = j - 1;
        return result;
    }
}

/// <summary>
/// <c>dspn_sum</c>: one DSPN auto-encoder training step in the configuration of <c>reference_pytorch.py dspn_sum</c>
/// (batch 32, 342 slots, g_enc [x, mask] 3→256→256→64 with sum pooling × 1/N, T = 10, η = 800, Chamfer, Adam), against
/// the PyTorch reference run in the same process tree. Data: the reference's deterministic formula. The losses differ
/// slightly (ours is the mask-aware Chamfer, the reference's a plain Chamfer on (x, y, mask)), so only times compare.
/// </summary>
public sealed class DspnReferenceBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "dspn_sum";

    /// <inheritdoc />
    public override string Description => "DSPN auto-encoder training step (B 32, N 342, T 10) vs the PyTorch reference";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        int batch = options.Quick ? 4 : 32, n = options.Quick ? 40 : 342, reps = 1;
        torch.set_num_threads(options.Threads);
        using var scope = torch.NewDisposeScope();
        torch.random.manual_seed(0);
        var dspn = new DeepSetPredictionNetwork(new RelaxedDeepSetsEncoder(2, new RelaxedDeepSetsOptions { HiddenSizes = new[] { 256, 256 }, EmbeddingDimension = 64, Pooling = RelaxedPooling.Sum, Slots = n }), n, 10, 800);
        var net = SetPredictionNetwork.AutoEncoder(dspn);
        var (x, mask) = ReferenceData(batch, n);
        using var opt = torch.optim.Adam(net.parameters(), 3e-4);
        var request = new Dictionary<string, object> { ["config"] = "dspn_sum", ["B"] = batch, ["N"] = n, ["threads"] = options.Threads, ["reps"] = reps };
        // The reference's data formula needs N ≥ 100: --quick (N 40) runs SetML only.
        yield return Paired(options, $"B {batch}, N {n}, {options.Threads} thread(s)", "ms", () => MedianMs(() =>
        {
            using var s = torch.NewDisposeScope();
            opt.zero_grad();
            net.Loss(x, mask, x, mask, SetLossKind.Chamfer, PairwiseCost.SquaredError).backward();
            opt.step();
        }, 0, reps), options.Quick ? null : () => options.Reference?.MedianMs(request, log), "PyTorch 1.13 reference_pytorch.py dspn_sum",
            options.Quick ? "--quick: tiny sizes, reference not run" : "");
    }

    // reference_pytorch.py dspn_data: sizes ⌊100 + u·(N − 100)⌋, points u ∈ [0, 1]², zero-padded; u = frac(sin(i·12.9898 + seed·78.233)·43758.5453).
    private static (Tensor X, Tensor Mask) ReferenceData(int batch, int n)
    {
        static double[] U(int count, int seed) => Enumerable.Range(0, count).Select(i =>
        {
            double v = Math.Sin(i * 12.9898 + seed * 78.233) * 43758.5453;
            return v - Math.Floor(v);
        }).ToArray();
        int lo = Math.Min(100, n / 2);
        var sizes = U(batch, 3).Select(u => (int)Math.Floor(lo + u * (n - lo))).ToArray();
        var pts = U(batch * n * 2, 4);
        var x = new float[batch * n * 2];
        var m = new bool[batch * n];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < sizes[b]; i++)
            {
                m[b * n + i] = true;
                x[(b * n + i) * 2] = (float)pts[(b * n + i) * 2];
                x[(b * n + i) * 2 + 1] = (float)pts[(b * n + i) * 2 + 1];
            }
        return (torch.tensor(x, new long[] { batch, n, 2 }), torch.tensor(m, new long[] { batch, n }));
    }
}
