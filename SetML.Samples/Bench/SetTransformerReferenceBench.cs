using SetML.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Samples.Bench;

/// <summary>
/// The <c>st_train</c> config of <c>shared/bench/reference_pytorch.py</c> (amortized clustering training step:
/// ISAB16(128,4)×2 → PMA4 → SAB → Linear, 10 sets × 300 2-D points, MoG NLL, Adam) built from SetML's modules with the
/// reference's deterministic weights and data, timed alternately with the PyTorch reference. The loss at initialisation
/// must agree with the reference's (same weights, same data, same equations).
/// </summary>
public sealed class SetTransformerReferenceBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "st_train";

    /// <inheritdoc />
    public override string Description => "Set Transformer (ISAB16×2 + PMA4 + SAB) training step and forward vs the PyTorch reference";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        int reps = options.Quick ? 1 : 3;
        int B = options.Quick ? 2 : 10, n = options.Quick ? 20 : 300;
        torch.set_num_threads(options.Threads);
        using var model = new ClusteringReferenceModel(inducedEncoder: true);
        DeterministicInit(model);
        using var x = Data(B, n);
        using var mask = torch.ones(B, n, dtype: ScalarType.Bool);
        double loss0;
        using (torch.no_grad()) loss0 = MogNll(model.forward(x, mask), x).item<float>();
        var parameters = model.parameters().ToList();
        using var adam = torch.optim.Adam(parameters, 1e-3);
        var shape = new Dictionary<string, object> { ["B"] = B, ["n"] = n, ["threads"] = options.Threads, ["reps"] = reps };
        double? refLoss = null;
        double? Reference(string config)
        {
            if (options.Reference?.Time(new Dictionary<string, object>(shape) { ["config"] = config }, log) is not { } r) return null;
            if (r.Extra.TryGetProperty("loss_at_init", out var l)) refLoss = l.GetDouble();
            return Median(r.TimesMs);
        }
        var train = Paired(options, $"train step B={B} n={n}, {options.Threads} thread(s)", "ms", () => MedianMs(() =>
        {
            using var scope = torch.NewDisposeScope();
            adam.zero_grad();
            var loss = MogNll(model.forward(x, mask), x);
            loss.backward();
            adam.step();
        }, 0, reps), () => Reference("st_train_step"), "PyTorch (reference_pytorch.py st_train)");
        string lossNote = refLoss is double rl ? $"loss at init: SetML {loss0:F6}, PyTorch {rl:F6}" : $"loss at init: SetML {loss0:F6}";
        double gflop = 3 * ForwardFlops(B, n, inducedEncoder: true) / 1e9;
        double rate = gflop / train.SetML * 1e3;
        string peak = FmaPeak.PerCore is var (g, isa) ? $", {rate / (g * options.Threads):P0} of {options.Threads} core(s)' measured {isa} FMA peak" : "";
        yield return train with { Note = $"{lossNote}; {rate:F1} GFLOP/s ({gflop:F2} GFLOP/step{peak})" };
        yield return Paired(options, $"forward B={B} n={n}, {options.Threads} thread(s)", "ms", () => ForwardMs(model, x, mask, reps),
            () => Reference("st_forward"), "PyTorch (reference_pytorch.py st_train)");
    }

    /// <summary>Median forward time (no_grad) of <paramref name="model"/> over <paramref name="reps"/> calls.</summary>
    internal static double ForwardMs(nn.Module<Tensor, Tensor, Tensor> model, Tensor x, Tensor mask, int reps)
    {
        using var _ = torch.no_grad();
        return MedianMs(() => { using var s = torch.NewDisposeScope(); model.forward(x, mask); }, 0, reps);
    }

    /// <summary>Forward FLOPs of the reference's amortized-clustering Set Transformer (reference_pytorch.py st_fwd_flops).</summary>
    internal static double ForwardFlops(int b, int n, bool inducedEncoder, int din = 2, int d = 128, int m = 16, int k = 4)
    {
        static double Mab(double nq, double nk, double dq, double dk, double d) => 2 * (nq * dq * d + 2 * nk * dk * d + 2 * nq * nk * d + 2 * nq * d * d);
        double f = inducedEncoder
            ? Mab(m, n, d, din, d) + Mab(n, m, din, d, d) + Mab(m, n, d, d, d) + Mab(n, m, d, d, d)
            : Mab(n, n, din, din, d) + Mab(n, n, d, d, d);
        f += 2.0 * n * d * d + Mab(k, n, d, d, d) + Mab(k, k, d, d, d) + 2.0 * k * d * (1 + 2 * din);
        return b * f;
    }

    /// <summary>The reference model, from SetML modules: ISAB16 ×2 (or SAB ×2) → PMA4 → SAB → Linear(128, 1 + 2·2).</summary>
    internal sealed class ClusteringReferenceModel : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly SetLayer enc1, enc2;
        private readonly Pma pma = new(128, 4, 4);
        private readonly SetAttentionBlock sab = new(128, 128, 4);
        private readonly Linear head = nn.Linear(128, 5);

        public ClusteringReferenceModel(bool inducedEncoder) : base("st_train")
        {
            enc1 = inducedEncoder ? new InducedSetAttentionBlock(2, 128, 4, 16) : new SetAttentionBlock(2, 128, 4);
            enc2 = inducedEncoder ? new InducedSetAttentionBlock(128, 128, 4, 16) : new SetAttentionBlock(128, 128, 4);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x, Tensor mask)
        {
            using var scope = torch.NewDisposeScope();
            var z = pma.forward(enc2.forward(enc1.forward(x, mask), mask), mask);
            return head.forward(sab.SelfAttend(z)).MoveToOuterDisposeScope();
        }
    }

    /// <summary>A model of the reference's deterministic weights, in eval mode.</summary>
    internal static ClusteringReferenceModel ReferenceModel(bool inducedEncoder)
    {
        var model = new ClusteringReferenceModel(inducedEncoder);
        DeterministicInit(model);
        model.eval();
        return model;
    }

    /// <summary>SetML parameter name → the reference's (whose name seeds its deterministic init).</summary>
    private static string ReferenceName(string name) => name
        .Replace("inducingPoints", "I").Replace("mabInduced", "mab1").Replace("mabElements", "mab2")
        .Replace("seeds", "S").Replace("fcQ", "q").Replace("fcK", "k").Replace("fcV", "v").Replace("fcO", "o")
        .Replace("lnH", "ln1").Replace("lnOut", "ln2").Replace("pma.rff", "pma.ff").Replace(".rff.", ".ff.");

    /// <summary>det_init of the reference: vectors 0 (LayerNorm weights 1); matrices U(−1,1)·√(3/fan_in) from det_uniform(name).</summary>
    internal static void DeterministicInit(nn.Module model)
    {
        using var _ = torch.no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            string refName = ReferenceName(name);
            string leaf = refName.Split('.').Last();
            if (p.dim() == 1) p.FillScalarInPlace(leaf == "weight" && ("." + refName).Contains(".ln") ? 1.0 : 0.0);
            else
            {
                var u = DetUniform(p.numel(), NameSeed(refName)).view(p.shape);
                p.copy_(u.MulScalar(2).SubScalar(1.0).MulScalar(Math.Sqrt(3.0 / p.shape[^1])));
            }
        }
    }

    private static int NameSeed(string name) => name.Select((c, k) => (k + 1) * c).Sum() % 9973;

    private static Tensor DetUniform(long n, int seed)
    {
        var i = ScalarOps.Arange(n, dtype: ScalarType.Float64);
        var x = torch.sin(i.MulScalar(12.9898).AddScalar(seed * 78.233)).MulScalar(43758.5453);
        return (x - x.floor()).to(ScalarType.Float32);
    }

    internal static Tensor Data(int b, int n)
    {
        using var scope = torch.NewDisposeScope();
        var cen = DetUniform(b * 4 * 2, 1).view(b, 4, 2).MulScalar(8).SubScalar(4.0);
        var comp = DetUniform(b * n, 2).MulScalar(4).floor().to(ScalarType.Int64).ClampMaxScalar(3L).view(b, n);
        var noise = DetUniform(b * n * 2, 3).view(b, n, 2).SubScalar(0.5).MulScalar(0.6);
        return torch.gather(cen, 1, comp.unsqueeze(-1).expand(b, n, 2)).Plus(noise).MoveToOuterDisposeScope();
    }

    /// <summary>Negative log-likelihood of X under the predicted mixture (reference's mog_nll).</summary>
    private static Tensor MogNll(Tensor output, Tensor x)
    {
        var logPi = output[.., .., 0].log_softmax(-1);
        var mu = output[.., .., 1..3];
        var logSigma = output[.., .., 3..5];
        var zz = (x.unsqueeze(2) - mu.unsqueeze(1)) * torch.exp(-logSigma).unsqueeze(1);
        var logN = (zz.Squared().sum(-1).MulScalar(-0.5) - logSigma.sum(-1).unsqueeze(1)).SubScalar(Math.Log(2 * Math.PI));
        return -torch.logsumexp(logN.Plus(logPi.unsqueeze(1)), -1).mean();
    }
}

/// <summary>
/// <c>st_scaling</c>: Set Transformer forward (eval, no_grad) with SAB ×2 or ISAB16 ×2 encoders at the shapes of the
/// reference's <c>st_scaling</c> config (10 sets of n = 100, 300, 1,000), alternately with the reference: SAB grows
/// quadratically with n, ISAB linearly.
/// </summary>
public sealed class SetTransformerScalingBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "st_scaling";

    /// <inheritdoc />
    public override string Description => "SAB vs ISAB forward at n = 100, 300, 1,000 (B 10) vs the PyTorch reference st_scaling";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        int b = options.Quick ? 2 : 10, reps = options.Quick ? 1 : 2;
        torch.set_num_threads(options.Threads);
        foreach (var induced in new[] { true, false })
        {
            using var model = SetTransformerReferenceBench.ReferenceModel(induced);
            foreach (var n in options.Quick ? new[] { 10, 30 } : new[] { 100, 300, 1000 })
            {
                using var x = SetTransformerReferenceBench.Data(b, n);
                using var mask = torch.ones(b, n, dtype: ScalarType.Bool);
                var request = new Dictionary<string, object>
                {
                    ["config"] = "st_scaling", ["enc"] = induced ? "isab" : "sab", ["B"] = b, ["n"] = n, ["threads"] = options.Threads, ["reps"] = reps,
                };
                yield return Paired(options, $"{(induced ? "ISAB16" : "SAB")} forward B={b} n={n}, {options.Threads} thread(s)", "ms",
                    () => SetTransformerReferenceBench.ForwardMs(model, x, mask, reps), () => options.Reference?.MedianMs(request, log),
                    "PyTorch (reference_pytorch.py st_scaling)");
            }
        }
    }
}

/// <summary>
/// <c>isab_scaling</c>: the ISAB16 ×2 Set Transformer forward of <c>st_scaling</c> on one set of n = 1,000 and of
/// n = 10,000 elements, alternately with the reference; ISAB is linear in n, so time(10,000) / time(1,000) should be
/// about 10 (target ≤ 11).
/// </summary>
public sealed class IsabScalingBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "isab_scaling";

    /// <inheritdoc />
    public override string Description => "ISAB16 Set Transformer forward on one set of n = 1,000 and 10,000: time ratio (linear in n)";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        int reps = options.Quick ? 1 : 3;
        var sizes = options.Quick ? new[] { 100, 1000 } : new[] { 1000, 10000 };
        torch.set_num_threads(options.Threads);
        using var model = SetTransformerReferenceBench.ReferenceModel(inducedEncoder: true);
        var rows = new List<BenchRow>();
        foreach (var n in sizes)
        {
            using var x = SetTransformerReferenceBench.Data(1, n);
            using var mask = torch.ones(1, n, dtype: ScalarType.Bool);
            var request = new Dictionary<string, object> { ["config"] = "st_scaling", ["enc"] = "isab", ["B"] = 1, ["n"] = n, ["threads"] = options.Threads, ["reps"] = reps };
            rows.Add(Paired(options, $"ISAB16 forward B=1 n={n}, {options.Threads} thread(s)", "ms",
                () => SetTransformerReferenceBench.ForwardMs(model, x, mask, reps), () => options.Reference?.MedianMs(request, log),
                "PyTorch (reference_pytorch.py st_scaling shapes)"));
        }
        double growth = rows[1].SetML / rows[0].SetML;
        string refGrowth = rows[1].Baseline is double b1 && rows[0].Baseline is double b0 ? $", reference {b1 / b0:F1}" : "";
        yield return rows[0];
        yield return rows[1] with { Note = $"time(n={sizes[1]}) / time(n={sizes[0]}): SetML {growth:F1}{refGrowth}; target ≤ 11 {(growth <= 11 ? "met" : "NOT met")}" };
    }
}
