using SetML.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Samples.Bench;

/// <summary>
/// The <c>st_train</c> config of <c>shared/bench/reference_pytorch.py</c> (amortized clustering training step:
/// ISAB16(128,4)×2 → PMA4 → SAB → Linear, 10 sets × 300 2-D points, MoG NLL, Adam) built from SetML's modules with the
/// reference's deterministic weights and data, timed against the PyTorch reference run in the same process tree.
/// The loss at initialisation must agree with the reference's (same weights, same data, same equations).
/// </summary>
public sealed class SetTransformerReferenceBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "st_train";

    /// <inheritdoc />
    public override string Description => "Set Transformer (ISAB16×2 + PMA4 + SAB) training step vs the PyTorch reference";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        int warmup = options.Quick ? 1 : 3, reps = options.Quick ? 2 : 10;
        torch.set_num_threads(options.Threads);
        const int B = 10, n = 300;
        using var model = new ClusteringReferenceModel();
        DeterministicInit(model);
        using var x = Data(B, n);
        using var mask = torch.ones(B, n, dtype: ScalarType.Bool);
        double loss0;
        using (torch.no_grad()) loss0 = MogNll(model.forward(x, mask), x).item<float>();
        var parameters = model.parameters().ToList();
        using var adam = torch.optim.Adam(parameters, 1e-3);
        double stepMs = MedianMs(() =>
        {
            using var scope = torch.NewDisposeScope();
            adam.zero_grad();
            var loss = MogNll(model.forward(x, mask), x);
            loss.backward();
            adam.step();
        }, warmup, reps);
        double forwardMs;
        using (torch.no_grad())
            forwardMs = MedianMs(() => { using var s = torch.NewDisposeScope(); model.forward(x, mask); }, warmup, reps);

        var reference = RunReference(options, log);
        string lossNote = reference.TryGetValue("loss_at_init", out var refLoss)
            ? $"loss at init: SetML {loss0:F6}, PyTorch {refLoss:F6}" : $"loss at init: SetML {loss0:F6}";
        yield return new BenchRow(Name, $"train step B={B} n={n}, {options.Threads} thread(s)", "ms",
            stepMs, reference.TryGetValue("train_ms", out var t) ? t : null, "PyTorch (reference_pytorch.py st_train)", lossNote);
        yield return new BenchRow(Name, $"forward B={B} n={n}, {options.Threads} thread(s)", "ms",
            forwardMs, reference.TryGetValue("forward_ms", out var f) ? f : null, "PyTorch (reference_pytorch.py st_train)");
    }

    private static Dictionary<string, double> RunReference(BenchOptions options, TextWriter log)
    {
        var rows = PyTorchReference.Run("st_train", options.Threads, options.Quick ? 2 : 10, log);
        var result = new Dictionary<string, double>();
        if (rows.TryGetValue("st_isab_train_step", out var train))
        {
            result["train_ms"] = train.GetProperty("median_ms").GetDouble();
            result["loss_at_init"] = train.GetProperty("loss_at_init").GetDouble();
        }
        if (rows.TryGetValue("st_isab_forward", out var forward)) result["forward_ms"] = forward.GetProperty("median_ms").GetDouble();
        return result;
    }

    /// <summary>The reference model, from SetML modules: ISAB16 ×2 → PMA4 → SAB → Linear(128, 1 + 2·2).</summary>
    private sealed class ClusteringReferenceModel : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly InducedSetAttentionBlock enc1 = new(2, 128, 4, 16), enc2 = new(128, 128, 4, 16);
        private readonly Pma pma = new(128, 4, 4);
        private readonly SetAttentionBlock sab = new(128, 128, 4);
        private readonly Linear head = nn.Linear(128, 5);

        public ClusteringReferenceModel() : base("st_train") => RegisterComponents();

        public override Tensor forward(Tensor x, Tensor mask)
        {
            using var scope = torch.NewDisposeScope();
            var z = pma.forward(enc2.forward(enc1.forward(x, mask), mask), mask);
            return head.forward(sab.SelfAttend(z)).MoveToOuterDisposeScope();
        }
    }

    /// <summary>SetML parameter name → the reference's (whose name seeds its deterministic init).</summary>
    private static string ReferenceName(string name) => name
        .Replace("inducingPoints", "I").Replace("mabInduced", "mab1").Replace("mabElements", "mab2")
        .Replace("seeds", "S").Replace("fc_q", "q").Replace("fc_k", "k").Replace("fc_v", "v").Replace("fc_o", "o")
        .Replace("ln_h", "ln1").Replace("ln_out", "ln2").Replace("pma.rff", "pma.ff").Replace(".rff.", ".ff.");

    /// <summary>det_init of the reference: vectors 0 (LayerNorm weights 1); matrices U(−1,1)·√(3/fan_in) from det_uniform(name).</summary>
    private static void DeterministicInit(nn.Module model)
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

    private static Tensor Data(int b, int n)
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
