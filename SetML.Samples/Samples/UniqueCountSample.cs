using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Data;
using SetML.Samples.Infrastructure;
using SetML.Training;

namespace SetML.Samples.Samples;

/// <summary>
/// Counting unique classes among 6–10 Fashion-MNIST images (the Set Transformer paper's unique-character counting, §5.2,
/// with Fashion-MNIST classes for Omniglot characters): Poisson regression on sets of images.
/// </summary>
public sealed class UniqueCountSample : Sample
{
    /// <inheritdoc />
    public override string Name => "unique-count";

    /// <inheritdoc />
    public override string Description => "count distinct Fashion-MNIST classes among 6–10 images (Poisson regression; Set Transformer paper §5.2)";

    /// <inheritdoc />
    public override int DefaultEpochs => 10;

    /// <inheritdoc />
    public override string Help => Description + @"

Sets: size n ~ U{6..10}, c ~ U{1..n} distinct classes, every class at least once (the paper's generator). Training sets
draw images from the Fashion-MNIST training split, test sets from the test split. The paper splits Omniglot's 1,623
characters into disjoint train/test characters; Fashion-MNIST has only 10 classes, so here train and test share the
classes and differ in the images. Default: 3,000 training and 1,000 test sets.
Elements: each image enters the set as its pixel vector (average-pooled to 14×14 = 196 values), read from the IDX files;
the images do not go through ML.NET ImageAnalytics (LoadImages/ResizeImages/ExtractPixels work on one image per row, and
a set column needs all images of a set in one row, which ImageAnalytics has no step for). The per-element network is an
MLP (rFF), not the paper's CNN.
Models: rFF + Pooling (Deep Sets, mean pooling as in the paper; and sum pooling, which can count), rFFp-mean + Pooling
(equivariant Deep Sets layers), and SAB + PMA (Set Transformer encoder: SAB(64, 4) × 2, PMA_1), all trained with
mlContext.Regression.Trainers.SetPoissonRegression, same epochs and seed.
Accuracy = how often the mode of the predicted Poisson distribution (PredictedCount = ⌊λ⌋) equals the true count.
Paper figures (Figure 3, Omniglot — different data, for reference): rFF + Pooling 0.4382, rFFp-mean + Pooling 0.4617,
SAB + Pooling 0.5659, rFF + PMA 0.4572, SAB + PMA 0.6037.";

    /// <summary>The paper's accuracies (Set Transformer, Figure 3, Omniglot).</summary>
    private static readonly Dictionary<string, double> PaperAccuracy = new()
    {
        ["rFF + Pooling"] = 0.4382, ["rFFp-mean + Pooling"] = 0.4617, ["SAB + Pooling"] = 0.5659, ["rFF + PMA"] = 0.4572, ["SAB + PMA"] = 0.6037,
    };

    private sealed class CountRow
    {
        public float[] Set { get; set; } = Array.Empty<float>();
        public float Label { get; set; }
    }

    /// <inheritdoc />
    public override int Run(SampleContext ctx)
    {
        const int pool = 2, d = 196;
        int nTrain = ctx.Quick ? 200 : 3000, nTest = ctx.Quick ? 100 : 1000;
        var trainImages = FashionMnist.Load(FashionMnistSplit.Train, ctx.Quick ? 2000 : 20000);
        var testImages = FashionMnist.Load(FashionMnistSplit.Test, ctx.Quick ? 1000 : null);
        var rng = new Random(ctx.Seed);
        var trainByClass = ImageSets.ByClass(trainImages);
        var testByClass = ImageSets.ByClass(testImages);
        var trainSets = Enumerable.Range(0, nTrain).Select(_ => ImageSets.UniqueCount(trainImages, trainByClass, pool, rng)).ToList();
        var testSets = Enumerable.Range(0, nTest).Select(_ => ImageSets.UniqueCount(testImages, testByClass, pool, rng)).ToList();
        ctx.Out.WriteLine($"{trainSets.Count} training and {testSets.Count} test sets of 6–10 images ({d} pixels each).");

        var models = new List<(string Name, string PaperName, SetEncoderOptions? Encoder, string Note)>
        {
            ("rFF + Pooling (mean)", "rFF + Pooling", new DeepSetsOptions { Pooling = PoolingKind.Mean, PhiHiddenSizes = new[] { 128, 64 }, LatentDimension = 64, RhoHiddenSizes = new[] { 64 }, EmbeddingDimension = 64 }, ""),
            ("rFF + Pooling (sum)", "", new DeepSetsOptions { Pooling = PoolingKind.Sum, PhiHiddenSizes = new[] { 128, 64 }, LatentDimension = 64, RhoHiddenSizes = new[] { 64 }, EmbeddingDimension = 64 }, ""),
        };
        // The paper's Table 7 decoder: PMA_1 after SAB(64, 4) × 2 (our per-element network is an MLP instead of its CNN).
        models.Add(("rFFp-mean + Pooling", "rFFp-mean + Pooling", new EquivariantDeepSetsOptions { LayerSizes = new[] { 128, 64 }, RhoHiddenSizes = new[] { 64 }, EmbeddingDimension = 64 }, ""));
        models.Add(("SAB + PMA", "SAB + PMA", new SetTransformerOptions { Width = 64, Heads = 4, Layers = 2, Seeds = 1 }, ""));

        var table = new TextTable("Model", "Accuracy", "Paper accuracy (Omniglot)", "Mean |λ − count|", "Train seconds");
        var trainRows = trainSets.Select(s => new CountRow { Set = s.Set, Label = s.DistinctClasses }).ToList();
        var testRows = testSets.Select(s => new CountRow { Set = s.Set, Label = s.DistinctClasses }).ToList();
        float[]? bestCounts = null; double bestAccuracy = -1;
        foreach (var (name, paperName, encoder, note) in models)
        {
            if (ctx.Cancellation.IsCancellationRequested) break;
            double? paper = PaperAccuracy.TryGetValue(paperName, out var p) ? p : null;
            if (encoder == null)
            {
                table.Row(name, $"— ({note})", paper, null, null);
                continue;
            }
            var ml = new MLContext(ctx.Seed);
            var options = ctx.TrainingOptions<SetModelOptions>(name);
            options.Encoder = encoder;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var model = ml.Regression.Trainers.SetPoissonRegression("Label", "Set", d, options).Fit(ml.Data.LoadFromEnumerable(trainRows));
            double seconds = watch.Elapsed.TotalSeconds;
            var predictions = model.Transform(ml.Data.LoadFromEnumerable(testRows));
            var counts = predictions.GetColumn<float>("PredictedCount").ToArray();
            var rates = predictions.GetColumn<float>("Score").ToArray();
            double accuracy = counts.Zip(testRows, (c, r) => c == r.Label ? 1.0 : 0.0).Average();
            double mae = rates.Zip(testRows, (l, r) => Math.Abs(l - r.Label)).Average();
            table.Row(name, accuracy, paper, mae, seconds.ToString("0.0"));
            ctx.Results.Add(name, new Dictionary<string, double> { ["Accuracy"] = accuracy, ["Mean |λ − count|"] = mae },
                paper is { } pv ? new Dictionary<string, double> { ["Accuracy"] = pv } : null,
                new Dictionary<string, object?> { ["encoder"] = encoder.GetType().Name, ["paperRow"] = paperName == "" ? null : paperName, ["paperData"] = "Omniglot", ["trainSeconds"] = Math.Round(seconds, 1) });
            if (accuracy > bestAccuracy) { bestAccuracy = accuracy; bestCounts = counts; }
        }
        table.Print(ctx.Out, $"Unique counting, {testRows.Count} test sets (chance ≈ 0.2 when always guessing one count; paper figures are Omniglot, for reference):");

        if (ctx.Curves.Count > 0)
            Pictures.TrainingCurves(ctx, "unique-count-training-curves.png", "Poisson negative log-likelihood per epoch", yLabel: "Poisson NLL (without log y!)");
        var rows = testSets.Take(5).Select((s, i) => (
            $"{s.DistinctClasses} classes" + (bestCounts != null ? $"\npredicted {bestCounts[i]:0}" : ""),
            (IReadOnlyList<(float[], string, bool)>)s.Images.Select((img, k) => (testImages.Image(img), Short(s.Classes[k]), false)).ToList())).ToList();
        Pictures.ImageRows(ctx, "unique-count-sets.png", "Test sets: true number of distinct classes and the best model's prediction", rows);
        return 0;
    }

    private static string Short(int c) => FashionMnist.ClassNames[c].Split('/')[0];
}
