using System.Diagnostics;
using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Infrastructure;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;

namespace SetML.Samples.Samples;

/// <summary>
/// <c>huge-sets</c>: set regression on sets of 100,000 elements, trained with UMBC's unbiased full-set gradient
/// (<see cref="SetModelOptions.GradientChunkSize"/>, Willette et al. 2023): every set is encoded in chunks without
/// gradient and the gradient goes through one sampled chunk, so activation memory depends on the chunk, not on the set.
/// Each set is 100,000 points of a 2-D Gaussian N(μ, σ²I) with random μ and σ; the label is σ.
/// </summary>
public sealed class HugeSetsSample : Sample
{
    /// <inheritdoc />
    public override string Name => "huge-sets";

    /// <inheritdoc />
    public override string Description => "Set regression on sets of 10^5 elements with UMBC's chunked unbiased gradient (bounded memory; peak working set)";

    /// <inheritdoc />
    public override int DefaultEpochs => 8;

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> Options => new[]
    {
        ("--elements", "elements per set (default 100000; --quick 2000)"),
        ("--chunk", "GradientChunkSize: elements per chunk (default 8192; ≥ the set size = the whole set's gradient, to compare memory)"),
        ("--sets", "training sets (default 48; 16 more are the test sets; --quick 12)"),
    };

    /// <inheritdoc />
    public override string Help => Description + Environment.NewLine +
        "Paper: Willette et al., Scalable Set Encoding with Universal Mini-Batch Consistency and Unbiased Full Set Gradient Approximation (ICML 2023)." + Environment.NewLine +
        "Task: each set holds n points of N(μ, σ²I) in 2-D, μ ~ U[-1, 1]², σ ~ U[0.5, 2]; predict σ. Deep Sets (mean) + MLP head, SetRegression trainer." + Environment.NewLine +
        "Prints test MAE (and the MAE of predicting the mean label), training time, and the process's peak working set; the test sets are" + Environment.NewLine +
        "predicted by streaming them through the trained encoder (chunk by chunk) and the head, so prediction is bounded too." + Environment.NewLine +
        "Run it again with --chunk 100000 to see the memory of back-propagating through whole sets.";

    /// <inheritdoc />
    public override int Run(SampleContext ctx)
    {
        int n = (int)ctx.Option("--elements", ctx.Quick ? 2_000 : 100_000);
        int chunk = (int)ctx.Option("--chunk", ctx.Quick ? 256 : 8_192);
        int trainSets = (int)ctx.Option("--sets", ctx.Quick ? 12 : 48), testSets = ctx.Quick ? 4 : 16;
        var o = ctx.Out;
        var rng = new Random(ctx.Seed);
        var train = Enumerable.Range(0, trainSets).Select(_ => GaussianSet(rng, n)).ToList();
        var test = Enumerable.Range(0, testSets).Select(_ => GaussianSet(rng, n)).ToList();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        long afterData = process.WorkingSet64;
        int chunks = (int)Math.Max(1, (n + (long)chunk - 1) / chunk);              // GradientChunkSize splits a set into this many chunks
        o.WriteLine($"{trainSets} training and {testSets} test sets of {n:N0} 2-D points ({(trainSets + testSets) * (long)n * 2 * 4 / 1e6:F0} MB of data); " +
            $"chunks of {chunk:N0} elements: {chunks} per set{(chunks == 1 ? " (the whole set: the ordinary full gradient)" : "")}.");

        var ml = new MLContext(ctx.Seed);
        var options = ctx.TrainingOptions<SetRegressionOptions>("Deep Sets mean, chunked gradient");
        options.Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 32 }, LatentDimension = 32, RhoHiddenSizes = new[] { 32 }, EmbeddingDimension = 16, Pooling = PoolingKind.Mean };
        options.HeadHiddenSizes = new[] { 16 };
        options.BatchSize = 4;
        options.LearningRate = 3e-3;
        options.GradientChunkSize = chunk;
        var watch = Stopwatch.StartNew();
        using var model = ml.Regression.Trainers.SetRegression("Label", "Points", 2, options).Fit(ml.Data.LoadFromEnumerable(train));
        double trainSeconds = watch.Elapsed.TotalSeconds;

        // Prediction in bounded memory too: stream each test set through the trained encoder, then apply the head.
        var head = (EncoderHeadNetwork)model.Network;
        using var stream = model.CreateStreamingEncoder();
        var predicted = test.Select(set =>
        {
            stream.Start();
            for (int start = 0; start < set.Points.Length; start += 2 * chunk)
                stream.Add(set.Points.AsSpan(start, Math.Min(2 * chunk, set.Points.Length - start)));
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            return head.Head(stream.Finish()).data<float>()[0];
        }).ToArray();
        double mae = test.Select((s, i) => Math.Abs(s.Label - predicted[i])).Average();
        double meanLabel = train.Average(s => s.Label);
        double baseline = test.Average(s => Math.Abs(s.Label - meanLabel));
        process.Refresh();
        long peak = process.PeakWorkingSet64;
        o.WriteLine($"  test MAE of σ: {mae:F4} (predicting the mean label: {baseline:F4}); trained {ctx.Epochs} epochs in {trainSeconds:F0} s " +
            $"({(long)trainSets * n * ctx.Epochs / trainSeconds / 1e6:F2} M elements/s, shared machine)");
        o.WriteLine($"  peak working set {peak / 1e6:F0} MB (working set after generating the data: {afterData / 1e6:F0} MB)");
        ctx.Results.Add($"Deep Sets mean, n = {n}, chunk {chunk}", new Dictionary<string, double>
        {
            ["test_mae"] = mae, ["baseline_mae"] = baseline, ["train_seconds"] = trainSeconds,
            ["peak_working_set_mb"] = peak / 1e6, ["working_set_after_data_mb"] = afterData / 1e6, ["elements_per_set"] = n, ["chunk"] = chunk,
        });
        return 0;
    }

    private static SetRow GaussianSet(Random rng, int n)
    {
        float mx = rng.NextSingle() * 2 - 1, my = rng.NextSingle() * 2 - 1, sigma = 0.5f + 1.5f * rng.NextSingle();
        var points = new float[2 * n];
        for (int i = 0; i < points.Length; i += 2)
        {
            // Box–Muller: two independent standard normals.
            double u = 1 - rng.NextDouble(), v = rng.NextDouble(), r = Math.Sqrt(-2 * Math.Log(u));
            points[i] = mx + sigma * (float)(r * Math.Cos(2 * Math.PI * v));
            points[i + 1] = my + sigma * (float)(r * Math.Sin(2 * Math.PI * v));
        }
        return new SetRow { Points = points, Label = sigma };
    }

    private sealed class SetRow
    {
        public float[] Points { get; set; } = Array.Empty<float>();
        public float Label { get; set; }
    }

}
