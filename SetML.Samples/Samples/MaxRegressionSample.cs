using System.Diagnostics;
using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Infrastructure;
using SetML.Training;

namespace SetML.Samples.Samples;

/// <summary>
/// Max regression (Set Transformer, Table 1 and supplement 2.1): predict max(x_1..x_n) of n ~ U{1..10} reals drawn from
/// U[0, 100], trained with the mean absolute error. Compares Deep Sets rFF + pooling (mean, sum, max) with SAB + PMA.
/// </summary>
public sealed class MaxRegressionSample : Sample
{
    /// <summary>Training steps (mini-batches of 128 sets) per epoch: a fixed training set of 500 x 128 = 64,000 sets.</summary>
    private const int StepsPerEpoch = 500;
    private const int BatchSize = 128;

    /// <inheritdoc />
    public override string Name => "max-regression";

    /// <inheritdoc />
    public override string Description => "Set Transformer Table 1: regress the maximum of a set of reals (Deep Sets mean/sum/max vs SAB+PMA)";

    /// <inheritdoc />
    public override int DefaultEpochs => 4;

    /// <inheritdoc />
    public override string Help => Description + "\n" +
        $"Sets of n ~ U{{1..10}} numbers in U[0, 100]; label = max; L1 loss; Adam 1e-3 with a cosine decay over the epochs; batch {BatchSize};\n" +
        $"a fixed training set of {StepsPerEpoch * BatchSize:N0} sets ({StepsPerEpoch} steps per epoch); --epochs sets the budget (paper: 20,000 steps of fresh sets at a constant 1e-3).\n" +
        "Test MAE on 10,000 fresh sets. Networks as in the supplement's Table 5: rFF = FC(64, ReLU) x 3, FC(64); pool; FC(64, ReLU), FC(1);\n" +
        "SAB + PMA = SAB(64, 4) x 2, PMA_1(64, 4), FC(1) (no LayerNorm, as the authors' code).";

    private sealed class Row
    {
        public float[] Set { get; set; } = Array.Empty<float>();
        public float Label { get; set; }
    }

    private static List<Row> MakeSets(int count, Random rng) => Enumerable.Range(0, count).Select(_ =>
    {
        var v = new float[rng.Next(1, 11)];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 100);
        return new Row { Set = v, Label = v.Max() };
    }).ToList();

    /// <inheritdoc />
    public override int Run(SampleContext ctx)
    {
        var ml = new MLContext(ctx.Seed);
        int epochs = ctx.Quick ? 1 : ctx.Epochs;
        int steps = ctx.Quick ? 8 : StepsPerEpoch;
        var train = ml.Data.LoadFromEnumerable(MakeSets(steps * BatchSize, new Random(ctx.Seed + 1)));
        var test = ml.Data.LoadFromEnumerable(MakeSets(ctx.Quick ? 200 : 10_000, new Random(777)));

        var deepSets = (PoolingKind p) => new DeepSetsOptions
        {
            PhiHiddenSizes = new[] { 64, 64, 64 }, LatentDimension = 64, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 64, Pooling = p,
        };
        var models = new (string Name, SetEncoderOptions Encoder, int[] Head, double Paper)[]
        {
            ("rFF + Pooling (mean)", deepSets(PoolingKind.Mean), new[] { 64 }, 2.133),
            ("rFF + Pooling (sum)", deepSets(PoolingKind.Sum), new[] { 64 }, 1.902),
            ("rFF + Pooling (max)", deepSets(PoolingKind.Max), new[] { 64 }, 0.1355),
            ("SAB + PMA", new SetTransformerOptions { Width = 64, Heads = 4, Layers = 2, Seeds = 1, LayerNorm = false }, Array.Empty<int>(), 0.2085),
        };

        ctx.Out.WriteLine($"Max regression: {epochs} epoch(s) x {steps} steps x {BatchSize} sets ({steps * BatchSize:N0} training sets), test on {(ctx.Quick ? 200 : 10_000):N0} fresh sets.");
        ctx.Out.WriteLine($"{"Architecture",-22} {"MAE",9} {"paper",8} {"train s",8} {"ms/step",8}");
        foreach (var (name, encoder, head, paper) in models)
        {
            if (ctx.Cancellation.IsCancellationRequested) break; // Ctrl-C: keep the rows finished so far
            var options = new SetRegressionOptions
            {
                Encoder = encoder, HeadHiddenSizes = head, RegressionLoss = RegressionLoss.Absolute, Seed = ctx.Seed, Device = ctx.Device,
                Epochs = epochs, BatchSize = BatchSize, LearningRate = 1e-3, Schedule = LearningRateSchedule.Cosine,
                Progress = ctx.Progress(name), CancellationToken = ctx.Cancellation,
            };
            var sw = Stopwatch.StartNew();
            var model = ml.Regression.Trainers.SetRegression("Label", "Set", 1, options).Fit(train);
            double seconds = sw.Elapsed.TotalSeconds;
            if (ctx.Cancellation.IsCancellationRequested) break;
            var mae = ml.Regression.Evaluate(model.Transform(test)).MeanAbsoluteError;
            double msPerStep = 1000 * seconds / (epochs * steps);
            ctx.Out.WriteLine($"{name,-22} {mae,9:F4} {paper,8:F4} {seconds,8:F1} {msPerStep,8:F2}");
            ctx.Results.Add(name, new Dictionary<string, double> { ["MAE"] = mae, ["train_s"] = seconds, ["ms_per_step"] = msPerStep, ["steps"] = epochs * steps },
                new Dictionary<string, double> { ["MAE"] = paper, ["steps"] = 20_000 });
        }
        return 0;
    }
}
