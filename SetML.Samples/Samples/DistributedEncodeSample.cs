using System.Diagnostics;
using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Distributed;
using SetML.Samples.Infrastructure;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;

namespace SetML.Samples.Samples;

/// <summary>
/// <c>distributed-encode</c>: encodes one huge set (10⁸ elements by default) on a local Orleans cluster of N silos on
/// 127.0.0.1. The set is never materialised: each partition (10⁶ elements) is generated on the silo that encodes it
/// (<see cref="SyntheticSet"/>), encoded into a partial state by a stateless worker grain, and the states are merged by a
/// tree of merge grains. Compares with the single-process streaming encoding of the same elements (max |difference|),
/// and times 1 silo and N silos (throughput, speed-up).
/// </summary>
public sealed class DistributedEncodeSample : Sample
{
    private const int Dimension = 3;

    /// <inheritdoc />
    public override string Name => "distributed-encode";

    /// <inheritdoc />
    public override string Description => "Encode a 10^8-element set on a local Orleans cluster (partial states, tree merge): throughput, speed-up, difference vs one process";

    /// <inheritdoc />
    public override int DefaultEpochs => 2;

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> Options => new[]
    {
        ("--elements", "elements of the set (default 100000000; --quick 200000)"),
        ("--silos", "silos of the local cluster (default 2)"),
        ("--partition", "elements per partition, one grain call each (default 1000000; --quick 20000)"),
    };

    /// <inheritdoc />
    public override string Help => Description + Environment.NewLine +
        "Trains a small Deep Sets (mean) featurizer on toy sets of 3-d points (seconds) and saves it; every silo loads that file once." + Environment.NewLine +
        "Each silo encodes one partition at a time with one libtorch thread, so a silo stands for one core of a machine; the speed-up of" + Environment.NewLine +
        "N silos over 1 silo is bounded by the cores this machine really has free. Silos, client and traffic stay on 127.0.0.1." + Environment.NewLine +
        "Fails (exit code 1) when the distributed embedding differs from the single-process streaming embedding by more than 1e-5." + Environment.NewLine +
        "See docs/scale.md for a cluster on several machines.";

    /// <inheritdoc />
    public override int Run(SampleContext ctx) => RunAsync(ctx).GetAwaiter().GetResult();

    private async Task<int> RunAsync(SampleContext ctx)
    {
        long elements = ctx.Option("--elements", ctx.Quick ? 200_000 : 100_000_000);
        int silos = (int)ctx.Option("--silos", 2);
        int partitionElements = (int)Math.Min(int.MaxValue / Dimension, ctx.Option("--partition", ctx.Quick ? 20_000 : 1_000_000));
        const int chunk = 65_536;
        var o = ctx.Out;

        var modelPath = ctx.OutputPath("encoder.zip");
        TrainEncoder(ctx, modelPath);
        var (model, encoder) = SiloSetEncoder.Load(modelPath);
        using var _model = model as IDisposable;
        var partitions = SyntheticSet.Partitions(ctx.Seed, elements, partitionElements, Dimension).ToList();
        o.WriteLine($"Set: {elements:N0} elements of dimension {Dimension} (uniform in [-1, 1)), {partitions.Count} partitions of ≤ {partitionElements:N0}; " +
            $"Deep Sets mean encoder, embedding {encoder.OutputDimension}; model {encoder.ModelId:x16}.");
        o.WriteLine($"Machine: {Environment.ProcessorCount} logical cores (shared with other work: timings are indicative).");

        int threads = torch.get_num_threads();
        torch.set_num_threads(1);                                                   // one core per silo, and for the reference
        try
        {
            // 1. The reference: one process streams every element through the same encoder, chunk by chunk.
            var watch = Stopwatch.StartNew();
            float[] reference;
            using (var stream = ((SetModelTransformer)model).CreateStreamingEncoder())
            {
                stream.Start();
                foreach (var p in partitions)
                {
                    ctx.Cancellation.ThrowIfCancellationRequested();
                    var values = SyntheticSet.Partition(p.Seed, p.Index, p.Elements, p.Dimension);
                    for (int start = 0; start < values.Length; start += chunk * Dimension)
                        stream.Add(values.AsSpan(start, Math.Min(chunk * Dimension, values.Length - start)));
                }
                reference = stream.FinishVector();
            }
            double single = watch.Elapsed.TotalSeconds;
            Report(ctx, "single process (streaming, 1 thread)", elements, single, null, null);

            // 2. One silo, then N silos.
            double? oneSilo = null;
            foreach (int n in silos == 1 ? new[] { 1 } : new[] { 1, silos })
            {
                await using var cluster = await LocalCluster.StartAsync(n, modelPath, maxConcurrentEncodesPerSilo: 1, ctx.Cancellation);
                watch.Restart();
                var state = await new DistributedSetEncoder(cluster.Client, maxInFlight: 2 * n).EncodeAsync(partitions, ctx.Cancellation);
                double seconds = watch.Elapsed.TotalSeconds;
                var embedding = encoder.FinishVector(state);
                double maxDiff = reference.Zip(embedding, (a, b) => (double)Math.Abs(a - b)).Max();
                oneSilo ??= seconds;
                Report(ctx, $"Orleans, {n} silo{(n > 1 ? "s" : "")} (1 partition at a time each)", elements, seconds, oneSilo / seconds, maxDiff);
                if (state.ElementCount != elements)
                    throw new InvalidOperationException($"The merged state has seen {state.ElementCount} elements, not {elements}.");
                if (maxDiff > 1e-5)
                {
                    o.WriteLine($"FAILED: the distributed embedding differs from the single-process one by {maxDiff:G3} (> 1e-5).");
                    return 1;
                }
            }
            o.WriteLine("Speed-up = time with 1 silo / time with N silos, each silo one partition at a time on one libtorch thread; on a machine with fewer free cores than silos it cannot reach N.");
            return 0;
        }
        finally { torch.set_num_threads(threads); }
    }

    private static void Report(SampleContext ctx, string name, long elements, double seconds, double? speedup, double? maxDiff)
    {
        ctx.Out.WriteLine($"  {name,-48} {seconds,8:F1} s  {elements / seconds / 1e6,8:F2} M elements/s" +
            (speedup is double s ? $"  speed-up vs 1 silo {s:F2}×" : "") + (maxDiff is double d ? $"  max |diff| vs single process {d:G3}" : ""));
        var metrics = new Dictionary<string, double> { ["seconds"] = seconds, ["elements_per_second"] = elements / seconds, ["elements"] = elements };
        if (speedup is double sp) metrics["speedup_vs_one_silo"] = sp;
        if (maxDiff is double md) metrics["max_abs_diff_vs_single_process"] = md;
        ctx.Results.Add(name, metrics);
    }

    /// <summary>A Deep Sets (mean) featurizer with a small φ, trained briefly on toy sets (label: mean squared norm), saved to <paramref name="path"/>.</summary>
    private static void TrainEncoder(SampleContext ctx, string path)
    {
        var rng = new Random(ctx.Seed);
        var rows = Enumerable.Range(0, 256).Select(_ =>
        {
            int n = rng.Next(5, 50);
            var points = Enumerable.Range(0, n * Dimension).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
            float label = Enumerable.Range(0, n).Average(i => points[3 * i] * points[3 * i] + points[3 * i + 1] * points[3 * i + 1] + points[3 * i + 2] * points[3 * i + 2]);
            return new ToyRow { Points = points, Label = label };
        }).ToList();
        var ml = new MLContext(ctx.Seed);
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = ctx.TrainingOptions<SetFeaturizerOptions>("Deep Sets mean featurizer", ctx.Quick ? 1 : ctx.Epochs);
        options.Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 8, Pooling = PoolingKind.Mean };
        options.HeadHiddenSizes = new[] { 16 };
        var pipeline = ml.Transforms.DeepSets("Embedding", nameof(ToyRow.Points), Dimension, nameof(ToyRow.Label), options);
        using var model = pipeline.Fit(data);
        ml.Model.Save(model, data.Schema, path);
        ctx.Out.WriteLine($"Trained and saved the encoder: {path}");
    }

    private sealed class ToyRow
    {
        public float[] Points { get; set; } = Array.Empty<float>();
        public float Label { get; set; }
    }
}
