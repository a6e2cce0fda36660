using ScottPlot;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Data;
using SetML.Samples.Infrastructure;
using SetML.SetColumns;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Samples.Samples;

/// <summary>
/// The ideas of docs/concepts.md, measured: permutation invariance of a set encoder against an order-dependent MLP,
/// padding that never changes a result, and the responsibility problem of list-shaped set outputs.
/// Produces the pictures in docs/images (<c>-- concepts --out docs/images</c>).
/// </summary>
public sealed class ConceptsSample : Sample
{
    /// <inheritdoc />
    public override string Name => "concepts";

    /// <inheritdoc />
    public override string Description => "invariance, padding and the responsibility problem, measured (the pictures of docs/concepts.md)";

    /// <inheritdoc />
    public override int DefaultEpochs => 1;

    /// <inheritdoc />
    public override string Help => Description + @"

No training. (1) A Deep Sets encoder and an MLP on the flattened set embed one Fashion-MNIST point set in its stored
order and shuffled: the set encoder's embedding is identical, the MLP's is not. (2) The same set padded to a longer
batch: the masked encoder's embedding does not change. (3) The responsibility problem (Zhang et al., FSPool/DSPN):
the set {p, −p} with p rotating through 360° changes continuously, but a list output with a fixed slot order must
jump. Rows of results.json: the largest embedding differences.";

    /// <inheritdoc />
    public override int Run(SampleContext ctx)
    {
        var data = FashionMnist.Load(FashionMnistSplit.Test, 1);
        var set = FashionPointSets.Subsample(data.PointSet(0), 2, 64, new Random(ctx.Seed));
        int n = set.Length / 2;
        var perm = Enumerable.Range(0, n).ToArray();
        TrainingLoop.Shuffle(perm, new Random(ctx.Seed + 1));
        var shuffled = perm.SelectMany(i => new[] { set[2 * i], set[2 * i + 1] }).ToArray();

        SetEncoder encoder; Mlp mlp;
        lock (TorchRuntime.InitializationLock)
        {
            TorchRuntime.Seed(ctx.Seed);
            encoder = new DeepSetsOptions { EmbeddingDimension = 16 }.CreateEncoder(2);
            mlp = new Mlp(2 * n, new[] { 64 }, 16);
        }
        using var _e = encoder; using var _m = mlp;
        encoder.eval(); mlp.eval();
        float[] Embed(float[] s, int padTo = 0)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var (x, mask) = SetBatch.Pad(new[] { s }, 2, minimumLength: padTo);
            return encoder.forward(x, mask)[0].data<float>().ToArray();
        }
        float[] Flat(float[] s)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            return mlp.forward(torch.tensor(s).unsqueeze(0))[0].data<float>().ToArray();
        }
        var dsA = Embed(set); var dsB = Embed(shuffled); var dsPadded = Embed(set, padTo: 3 * n);
        var mlA = Flat(set); var mlB = Flat(shuffled);
        double MaxDiff(float[] a, float[] b) => a.Zip(b, (p, q) => (double)Math.Abs(p - q)).Max();
        double dsDiff = MaxDiff(dsA, dsB), padDiff = MaxDiff(dsA, dsPadded), mlDiff = MaxDiff(mlA, mlB);

        var table = new TextTable("Model", "Max |embedding(original) − embedding(shuffled)|", "Max |embedding − embedding padded to 3n|");
        table.Row("Deep Sets encoder (sum pooling, masked)", dsDiff.ToString("G3"), padDiff.ToString("G3"));
        table.Row("MLP on the flattened set", mlDiff.ToString("G3"), "— (fixed input size)");
        table.Print(ctx.Out, $"One Fashion-MNIST point set ({n} points), untrained networks, seed {ctx.Seed}:");
        ctx.Results.Add("Deep Sets encoder", new Dictionary<string, double> { ["shuffleDifference"] = dsDiff, ["paddingDifference"] = padDiff });
        ctx.Results.Add("MLP on flattened set", new Dictionary<string, double> { ["shuffleDifference"] = mlDiff });

        // (1) Invariance picture.
        var plt = new Plot();
        double[] idx = Enumerable.Range(0, 16).Select(i => (double)i).ToArray();
        void Series(float[] y, string label, int color, bool dashed, MarkerShape marker)
        {
            var s = plt.Add.Scatter(idx, y.Select(v => (double)v).ToArray(), Pictures.ColorOf(color));
            s.LegendText = label; s.LineWidth = 2; s.MarkerShape = marker; s.MarkerSize = 9;
            if (dashed) s.LinePattern = LinePattern.Dashed;
        }
        Series(dsA, "Deep Sets, stored order", 0, false, MarkerShape.FilledCircle);
        Series(dsB, "Deep Sets, shuffled", 0, true, MarkerShape.OpenSquare);
        Series(mlA, "MLP on flattened set, stored order", 3, false, MarkerShape.FilledCircle);
        Series(mlB, "MLP on flattened set, shuffled", 3, true, MarkerShape.OpenSquare);
        plt.XLabel("embedding component"); plt.YLabel("value");
        plt.Title("Invariance: the same point set in two orders (Deep Sets curves coincide, MLP curves do not)", 12);
        plt.ShowLegend(Edge.Bottom);
        Pictures.Save(ctx, plt, "invariance.png", "Invariance: a set encoder's embedding ignores element order; an MLP on the flattened set does not", 900, 560);

        // (3) Responsibility problem: the set {p, −p}, p = (cos θ, sin θ)/2 + centre; list output with slot 1 = larger x.
        var theta = Enumerable.Range(0, 361).Select(t => (double)t).ToArray();
        double[] slot1X = new double[theta.Length], slot1Y = new double[theta.Length];
        for (int i = 0; i < theta.Length; i++)
        {
            double a = theta[i] * Math.PI / 180, x = 0.5 * Math.Cos(a), y = 0.5 * Math.Sin(a);
            (slot1X[i], slot1Y[i]) = x >= -x ? (x, y) : (-x, -y);
        }
        var rp = new Plot();
        var sx = rp.Add.Scatter(theta, slot1X, Pictures.ColorOf(0)); sx.LegendText = "slot 1, x"; sx.MarkerSize = 0; sx.LineWidth = 2;
        var sy = rp.Add.Scatter(theta, slot1Y, Pictures.ColorOf(1)); sy.LegendText = "slot 1, y"; sy.MarkerSize = 0; sy.LineWidth = 2;
        rp.XLabel("rotation θ of the set {p, −p} (degrees)"); rp.YLabel("coordinate in output slot 1");
        rp.Title("Responsibility problem: the set rotates smoothly, the list output must jump (θ = 90°, 270°)", 12);
        rp.ShowLegend(Alignment.LowerLeft);
        Pictures.Save(ctx, rp, "responsibility.png", "Responsibility problem: a list-shaped output of a smoothly rotating set jumps where slots swap", 900, 500);

        // (2) The point set itself, stored order numbered.
        var cells = new List<(float[], float[]?, string)> { (set, null, $"stored order ({n} points)"), (shuffled, null, "shuffled: the same set") };
        Pictures.PointSetGrid(ctx, "point-set.png", "A Fashion-MNIST image as a set of 2-D points (pixels above the image mean)", cells, 2);
        return dsDiff < 1e-5 && padDiff < 1e-5 ? 0 : 1;
    }
}
