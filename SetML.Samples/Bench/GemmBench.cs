using TorchSharp;

namespace SetML.Samples.Bench;

/// <summary>
/// <c>gemm</c>: the float32 matrix product under every Linear layer, libtorch's (TorchSharp's bundled libtorch, whose
/// BLAS is MKL) against the PyTorch reference's (Debian's PyTorch 1.13 on OpenBLAS), alternately, at the shapes of the
/// Set Transformer benches (10 sets × 300 elements × 128 features times a 128 × 128 weight, and the 10,000-element set
/// of <c>isab_scaling</c>) and one square product. The Set Transformer's training step spends most of its time in
/// these products, so this row bounds what any SetML code can gain over the reference there.
/// </summary>
public sealed class GemmBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "gemm";

    /// <inheritdoc />
    public override string Description => "float32 matrix products of the Set Transformer's layers: libtorch (MKL) vs the reference's PyTorch (OpenBLAS)";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        torch.set_num_threads(options.Threads);
        var shapes = options.Quick ? new[] { (64, 32, 32) } : new[] { (3000, 128, 128), (10000, 128, 128), (1024, 1024, 1024) };
        foreach (var (m, k, n) in shapes)
        {
            int inner = Math.Max(1, (int)(4e8 / (2.0 * m * k * n)));        // ~0.4 GFLOP per block
            using var half = 0.5f.ToScalar();
            using var quarter = 0.25f.ToScalar();
            using var a = torch.full(m, k, half);
            using var b = torch.full(k, n, quarter);
            double Block()
            {
                return MedianMs(() =>
                {
                    for (int i = 0; i < inner; i++)
                    {
                        using var c = torch.matmul(a, b);
                    }
                }, 0, options.Quick ? 1 : 3) / inner;
            }
            var request = new Dictionary<string, object> { ["config"] = "gemm", ["m"] = m, ["k"] = k, ["n"] = n, ["inner"] = inner,
                ["threads"] = options.Threads, ["reps"] = options.Quick ? 1 : 3 };
            var row = Paired(options, $"[{m}×{k}] × [{k}×{n}], {options.Threads} thread(s)", "ms", Block,
                () => options.Reference?.MedianMs(request, log) / inner, "PyTorch 1.13 + OpenBLAS (reference_server.py gemm)");
            double flop = 2.0 * m * k * n;
            string reference = row.Baseline is double r ? $", reference {flop / r / 1e6:F1} GFLOP/s" : "";
            yield return row with { Note = $"SetML {flop / row.SetML / 1e6:F1} GFLOP/s{reference}" };
        }
    }
}
