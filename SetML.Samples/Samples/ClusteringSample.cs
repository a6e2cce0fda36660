using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Infrastructure;
using SetML.SetColumns;
using SetML.Trainers;
using SetML.Training;
using SetML.Transforms;
using ScottPlot;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Samples.Samples;

/// <summary>
/// Amortized clustering with mixtures of Gaussians (Set Transformer sec. 5.3, Table 2 "Synthetic", supplement 2.3.1):
/// a network maps a set of 2-D points to the parameters of a 4-component mixture in one forward pass, trained to
/// maximise the log-likelihood. Reports LL0/data and LL1/data (after one EM step) for rFF + Pooling, SAB + PMA and
/// ISAB16 + PMA, and draws the ISAB16 + PMA clusterings like the paper's Figure 5.
/// </summary>
public sealed class ClusteringSample : Sample
{
    private const int Components = 4, SetsPerStep = 10, StepsPerEpoch = 2500, TestSets = 200;
    private const double Sigma = 0.3;

    /// <inheritdoc />
    public override string Name => "clustering";

    /// <inheritdoc />
    public override string Description => "Set Transformer Table 2: amortized clustering of 2-D mixtures of 4 Gaussians (LL0/LL1 per point)";

    /// <inheritdoc />
    public override int DefaultEpochs => 12;

    /// <inheritdoc />
    public override string Help => Description + "\n" +
        "Data (supplement 2.3.1): n ~ U{100..500} points, centres ~ U(-4, 4)^2, pi ~ Dir(1,1,1,1), x ~ N(mu_z, 0.3^2 I).\n" +
        $"Training: {StepsPerEpoch * SetsPerStep:N0} training sets, {SetsPerStep} sets per step ({StepsPerEpoch:N0} steps per epoch), Adam 1e-3 with a cosine decay,\n" +
        "sets of similar size batched together (GroupBatchesBySetSize); --epochs passes for ISAB16 + PMA (default 12 = 30,000 steps),\n" +
        "half of that for rFF + Pooling, a tenth for SAB + PMA (its attention is quadratic in n). 45 min measured on 2 cores.\n" +
        "The paper trains 50,000 steps on fresh sets (1e-3, then 1e-4 after 35,000).\n" +
        $"Test: {TestSets} fixed sets; oracle = log-likelihood under the true generating parameters. Writes clustering.png.";

    private sealed class Row
    {
        public float[] Set { get; set; } = Array.Empty<float>();
    }

    private sealed class Prediction
    {
        public float[] Set { get; set; } = Array.Empty<float>();
        public float[] PredictedClusters { get; set; } = Array.Empty<float>();
        [VectorType(Components)] public float[] MixtureWeights { get; set; } = Array.Empty<float>();
        [VectorType(Components * 2)] public float[] MixtureMeans { get; set; } = Array.Empty<float>();
        [VectorType(Components * 2)] public float[] MixtureVariances { get; set; } = Array.Empty<float>();
    }

    /// <summary>One data set of the generator and its true parameters.</summary>
    private sealed record MixtureSet(float[] Points, double[] Weights, double[] Means);

    private static MixtureSet Generate(Random rng, int nMin, int nMax)
    {
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        int n = rng.Next(nMin, nMax + 1);
        var means = Enumerable.Range(0, Components * 2).Select(_ => rng.NextDouble() * 8 - 4).ToArray();
        var e = Enumerable.Range(0, Components).Select(_ => -Math.Log(1 - rng.NextDouble())).ToArray();  // Dir(1,..,1) via Exp(1)
        var pi = e.Select(v => v / e.Sum()).ToArray();
        var pts = new float[n * 2];
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextDouble(), acc = 0;
            int z = Components - 1;
            for (int j = 0; j < Components; j++) { acc += pi[j]; if (u < acc) { z = j; break; } }
            pts[2 * i] = (float)(means[2 * z] + Sigma * Normal());
            pts[2 * i + 1] = (float)(means[2 * z + 1] + Sigma * Normal());
        }
        return new MixtureSet(pts, pi, means);
    }

    /// <summary>Mean over sets of the per-point log-likelihood under the true parameters (the paper's oracle).</summary>
    private static double Oracle(IReadOnlyList<MixtureSet> sets)
    {
        using var scope = torch.NewDisposeScope();
        var (x, mask) = SetBatch.Pad(sets.Select(s => s.Points).ToList(), 2);
        var w = torch.tensor(sets.SelectMany(s => s.Weights).ToArray(), new long[] { sets.Count, Components });
        var mu = torch.tensor(sets.SelectMany(s => s.Means).ToArray(), new long[] { sets.Count, Components, 2 });
        var theta = AmortizedMixtureModelSpec.Join(w, mu, ScalarOps.FullLike(mu, Sigma * Sigma));
        return MixtureOfGaussians.LogLikelihoodPerPoint(theta, x.to(ScalarType.Float64), mask).mean().item<double>();
    }

    /// <inheritdoc />
    public override int Run(SampleContext ctx)
    {
        var ml = new MLContext(ctx.Seed);
        int stepsPerEpoch = ctx.Quick ? 8 : StepsPerEpoch;
        int nMin = ctx.Quick ? 20 : 100, nMax = ctx.Quick ? 50 : 500;
        var testRng = new Random(4242);
        var testSets = Enumerable.Range(0, ctx.Quick ? 10 : TestSets).Select(_ => Generate(testRng, nMin, nMax)).ToList();
        var test = ml.Data.LoadFromEnumerable(testSets.Select(s => new Row { Set = s.Points }).ToList());
        double oracle = Oracle(testSets);
        int width = ctx.Quick ? 16 : 128;

        int epochs = ctx.Quick ? 1 : ctx.Epochs;
        var trainRng = new Random(ctx.Seed + 2);
        var train = ml.Data.LoadFromEnumerable(Enumerable.Range(0, stepsPerEpoch * SetsPerStep).Select(_ => new Row { Set = Generate(trainRng, nMin, nMax).Points }).ToList());
        var models = new (string Name, SetEncoderOptions Encoder, int Epochs, double PaperLL0, double PaperLL1)[]
        {
            ("rFF + Pooling", new DeepSetsOptions
            {
                PhiHiddenSizes = new[] { width, width, width }, LatentDimension = width, Pooling = PoolingKind.Mean,
                RhoHiddenSizes = new[] { width, width }, EmbeddingDimension = width,
            }, Math.Max(1, epochs / 2), -2.0006, -1.6186),
            ("SAB + PMA", new SetTransformerOptions { Width = width, Heads = 4, Layers = 2, Seeds = Components }, Math.Max(1, epochs / 10), -1.5145, -1.4619),
            ("ISAB16 + PMA", AmortizedMixtureOptions.PaperEncoder(Components) is var e ? SetWidth(e, width) : null!, epochs, -1.5009, -1.4530),
        };

        ctx.Out.WriteLine($"Amortized clustering: {stepsPerEpoch * SetsPerStep:N0} training sets of {nMin}-{nMax} points, {SetsPerStep} per step; test on {testSets.Count} sets; oracle LL/data {oracle:F4} (paper -1.4726).");
        ctx.Out.WriteLine($"{"Architecture",-15} {"steps",6} {"LL0/data",9} {"LL1/data",9} {"paper LL0",10} {"paper LL1",10} {"train s",8} {"ms/step",8}");
        SetModelTransformer? last = null;
        foreach (var (name, encoder, modelEpochs, paper0, paper1) in models)
        {
            if (ctx.Cancellation.IsCancellationRequested) break; // Ctrl-C: keep the rows finished so far
            int modelSteps = modelEpochs * stepsPerEpoch;
            var options = new AmortizedMixtureOptions
            {
                Components = Components, Encoder = encoder, Epochs = modelEpochs, BatchSize = SetsPerStep, LearningRate = 1e-3, Schedule = LearningRateSchedule.Cosine,
                Seed = ctx.Seed, Device = ctx.Device, Progress = ctx.Progress(name), CancellationToken = ctx.Cancellation,
            };
            var sw = Stopwatch.StartNew();
            var model = ml.Clustering.Trainers.AmortizedMixture("Set", 2, options).Fit(train);
            double seconds = sw.Elapsed.TotalSeconds;
            var m = ml.Clustering.EvaluateAmortizedMixture(model.Transform(test), "Set", 2);
            double msPerStep = 1000 * seconds / modelSteps;
            ctx.Out.WriteLine($"{name,-15} {modelSteps,6} {m.LogLikelihood,9:F4} {m.LogLikelihoodAfterEmStep,9:F4} {paper0,10:F4} {paper1,10:F4} {seconds,8:F1} {msPerStep,8:F1}");
            ctx.Results.Add(name,
                new Dictionary<string, double> { ["LL0/data"] = m.LogLikelihood, ["LL1/data"] = m.LogLikelihoodAfterEmStep, ["oracle"] = oracle, ["steps"] = modelSteps, ["train_s"] = seconds, ["ms_per_step"] = msPerStep },
                new Dictionary<string, double> { ["LL0/data"] = paper0, ["LL1/data"] = paper1, ["oracle"] = -1.4726, ["steps"] = 50_000 });
            last?.Dispose();
            last = model;
        }

        var path = Path.Combine(ctx.OutputDirectory, "clustering.png");
        var shown = ml.Data.CreateEnumerable<Prediction>(last!.Transform(ml.Data.LoadFromEnumerable(testSets.Take(6).Select(s => new Row { Set = s.Points }).ToList())), false).ToList();
        SavePicture(path, shown);
        ctx.SavedPicture(path, "ISAB16 + PMA on 6 test sets: points coloured by predicted component, 1-sigma and 2-sigma ellipses of the predicted mixture (cf. the paper's Figure 5)");
        last.Dispose();
        return 0;
    }

    private static SetTransformerOptions SetWidth(SetTransformerOptions o, int width) { o.Width = width; return o; }

    private static void SavePicture(string path, IReadOnlyList<Prediction> sets)
    {
        var palette = new ScottPlot.Palettes.Category10();
        var multiplot = new ScottPlot.Multiplot();
        multiplot.AddPlots(sets.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(2, (sets.Count + 1) / 2);
        for (int s = 0; s < sets.Count; s++)
        {
            var p = sets[s];
            var plot = multiplot.GetPlot(s);
            for (int j = 0; j < Components; j++)
            {
                var color = palette.GetColor(j);
                var idx = Enumerable.Range(0, p.PredictedClusters.Length).Where(i => (int)p.PredictedClusters[i] == j).ToArray();
                if (idx.Length > 0)
                    plot.Add.Markers(idx.Select(i => (double)p.Set[2 * i]).ToArray(), idx.Select(i => (double)p.Set[2 * i + 1]).ToArray(),
                        ScottPlot.MarkerShape.FilledCircle, 3, color.WithAlpha(0.6));
                double mx = p.MixtureMeans[2 * j], my = p.MixtureMeans[2 * j + 1];
                double sx = Math.Sqrt(p.MixtureVariances[2 * j]), sy = Math.Sqrt(p.MixtureVariances[2 * j + 1]);
                foreach (var k in new[] { 1.0, 2.0 })
                {
                    var ellipse = plot.Add.Ellipse(mx, my, k * sx, k * sy);
                    ellipse.LineColor = color.WithAlpha(p.MixtureWeights[j] < 0.02 ? 0.25 : 1.0);
                    ellipse.LineWidth = k == 1 ? 1.5f : 1f;
                    ellipse.FillColor = ScottPlot.Colors.Transparent;
                }
            }
            plot.Axes.SquareUnits();
            plot.Title($"test set {s + 1} (n = {p.PredictedClusters.Length})", 11);
        }
        multiplot.SavePng(path, 1200, 800);
    }
}
