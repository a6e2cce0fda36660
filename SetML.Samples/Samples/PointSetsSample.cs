using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Samples.Bench;
using SetML.Samples.Data;
using SetML.Samples.Infrastructure;
using SetML.Training;

namespace SetML.Samples.Samples;

/// <summary>
/// The point-set classification benchmark: Fashion-MNIST images as sets of (x, y, intensity) pixels — exactly the sets of
/// the equal-budget PyTorch reference (<c>../shared/bench/pointsets_reference.py</c>) — classified by every SetML set
/// encoder with its defaults, by ML.NET's LightGbm on the raw 784 pixels (the non-set baseline), and, when
/// <c>/usr/bin/python3</c> has torch, by the reference's <c>deepsets_max</c> and <c>isab_pma</c> at the same sets and epochs.
/// </summary>
public sealed class PointSetsSample : Sample
{
    /// <inheritdoc />
    public override string Name => "point-sets";

    /// <inheritdoc />
    public override string Description => "Fashion-MNIST as point sets: every set encoder vs LightGbm on pixels vs the PyTorch reference (same sets)";

    /// <inheritdoc />
    public override int DefaultEpochs => 5;

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> Options => new[]
    {
        ("--train", "training images (default 20,000; the first N of the 60,000)"),
        ("--test", "test images (default all 10,000)"),
        ("--points", "points kept per set (default 100)"),
    };

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> TextOptions => new[]
    {
        ("--models", "comma-separated parts of model names to run (default all), e.g. 'max pooling,ISAB,LightGbm,pytorch'"),
    };

    /// <inheritdoc />
    public override string Help => Description + @"

Data: Fashion-MNIST (/usr/share/datasets/fashion-mnist, package dataset-fashion-mnist). Each 28×28 image becomes the
set of its pixels brighter than the image's mean, one element (x, y, intensity) = (column/27, row/27, value/255) per
pixel, d = 3; a set keeps a random 100 of them (all when fewer), drawn with NumPy's default_rng(0) (training) and
default_rng(1) (test) exactly as ../shared/bench/pointsets_reference.py draws them (ported bit for bit), so both train
on the same sets. Default: the first 20,000 training images, all 10,000 test images, 5 epochs (quick: 48 / 24 images,
8 points, no PyTorch).
Models: every public SetEncoderOptions type with its defaults (found by reflection), Deep Sets with sum, mean and max
pooling, and the Set Transformer with ISAB16 + PMA; each trained with
mlContext.MulticlassClassification.Trainers.SetClassification and default SetModelOptions (so element
standardization on), the same epochs and seed. Baselines: ML.NET LightGbm (defaults) on the 784 raw pixels, and the
PyTorch reference's deepsets_max and isab_pma (Adam 1e-3, cosine, batch 64) at the same sets and epochs.
The full default run takes over an hour on 2 CPU cores; --train, --epochs, --points and --models make it smaller.";

    private sealed class PixelRow
    {
        [VectorType(FashionMnist.PixelCount)] public float[] Pixels { get; set; } = Array.Empty<float>();
        public string Label { get; set; } = "";
    }

    /// <inheritdoc />
    public override int Run(SampleContext ctx)
    {
        int nTrain = ctx.Quick ? 48 : (int)Math.Min(60000, ctx.Option("--train", 20000));
        int nTest = ctx.Quick ? 24 : (int)Math.Min(10000, ctx.Option("--test", 10000));
        int points = ctx.Quick ? 8 : (int)Math.Min(784, ctx.Option("--points", 100));
        var filters = ctx.TextOption("--models")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool Selected(string name) => filters == null || filters.Any(f => name.Contains(f, StringComparison.OrdinalIgnoreCase));

        var trainImages = FashionMnist.Load(FashionMnistSplit.Train, nTrain);
        var testImages = FashionMnist.Load(FashionMnistSplit.Test, nTest);
        var trainRows = FashionPointSets.LoadReference(trainImages, points, 0);
        var testRows = FashionPointSets.LoadReference(testImages, points, 1);
        ctx.Out.WriteLine($"{trainRows.Count} training and {testRows.Count} test point sets (d = 3), ≤ {points} points each " +
                          $"(mean {testRows.Average(r => r.Set.Length / 3.0):F1}); the sets of pointsets_reference.py.");

        var table = new TextTable("Model", "Implementation", "Test accuracy", "Macro accuracy", "Parameters", "Train seconds", "s/epoch");
        var names = new List<string>();
        var accuracies = new List<double>();
        int failures = 0;
        void Record(string name, string implementation, double accuracy, double macro, long? parameters, double seconds, Dictionary<string, object?> extra)
        {
            int epochs = ctx.Epochs;
            table.Row(name, implementation, accuracy, macro, parameters, seconds.ToString("0.0"), implementation == "ML.NET LightGbm" ? "—" : (seconds / epochs).ToString("0.0"));
            extra["implementation"] = implementation;
            extra["trainSeconds"] = Math.Round(seconds, 1);
            extra["trainSets"] = trainRows.Count; extra["testSets"] = testRows.Count; extra["points"] = points;
            ctx.Results.Add(name, new Dictionary<string, double> { ["Test accuracy"] = accuracy, ["Macro accuracy"] = macro }, extra: extra);
            names.Add(name);
            accuracies.Add(accuracy);
        }

        var encoders = Encoders.All().ToList();
        encoders.Add(("SetTransformer (ISAB16 + PMA)", new SetTransformerOptions { UseInducedPoints = true }));
        foreach (var (name, encoder) in encoders.Where(e => Selected(e.Name)))
        {
            if (ctx.Cancellation.IsCancellationRequested) break;
            var ml = new MLContext(ctx.Seed);
            var options = ctx.TrainingOptions<SetModelOptions>(name);
            options.Encoder = encoder;
            var watch = Stopwatch.StartNew();
            try
            {
                var model = FashionPointSets.MapLabel(ml)
                    .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Set", 3, options))
                    .Fit(ml.Data.LoadFromEnumerable(trainRows));
                double seconds = watch.Elapsed.TotalSeconds;
                var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(testRows)));
                Record(name, "SetML", metrics.MicroAccuracy, metrics.MacroAccuracy, Encoders.ParameterCount(encoder, 3), seconds,
                    new() { ["encoder"] = encoder.GetType().Name, ["miniBatchConsistent"] = encoder.IsMiniBatchConsistent });
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures++;
                ctx.Out.WriteLine($"  {name} failed: {ex.GetType().Name}: {ex.Message}");
                table.Row(name, "SetML", double.NaN, double.NaN, null, "failed", "—");
                ctx.Results.Add(name, new Dictionary<string, double>(), extra: new Dictionary<string, object?> { ["error"] = ex.Message });
            }
        }

        if (Selected("LightGbm (784 pixels)") && !ctx.Cancellation.IsCancellationRequested)
        {
            // The non-set baseline: the same images as flat pixel vectors, ML.NET's LightGbm with its defaults.
            var ml = new MLContext(ctx.Seed);
            PixelRow[] Pixels(FashionMnist data) => Enumerable.Range(0, data.Count)
                .Select(i => new PixelRow { Pixels = data.Image(i), Label = FashionMnist.ClassNames[data.Label(i)] }).ToArray();
            var watch = Stopwatch.StartNew();
            var model = FashionPointSets.MapLabel(ml)
                .Append(ml.MulticlassClassification.Trainers.LightGbm("Label", "Pixels"))
                .Fit(ml.Data.LoadFromEnumerable(Pixels(trainImages)));
            double seconds = watch.Elapsed.TotalSeconds;
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(Pixels(testImages))));
            Record("LightGbm (784 pixels)", "ML.NET LightGbm", metrics.MicroAccuracy, metrics.MacroAccuracy, null, seconds, new() { ["input"] = "784 raw pixels / 255" });
        }

        var reference = new[] { "deepsets_max", "isab_pma" }.Where(r => Selected(r) || filters?.Any(f => "pytorch".Contains(f, StringComparison.OrdinalIgnoreCase)) == true).ToArray();
        if (ctx.Quick) ctx.Out.WriteLine("  (quick mode: the PyTorch reference is not run)");
        else if (reference.Length > 0 && !ctx.Cancellation.IsCancellationRequested)
        {
            ctx.Out.WriteLine($"PyTorch reference ({string.Join(", ", reference)}) on the same sets, {ctx.Epochs} epochs …");
            foreach (var (model, row) in PyTorchReference.RunPointSets(reference, ctx.Epochs, points, nTrain, ctx.Out))
            {
                if (row.GetProperty("test_sets").GetInt32() != testRows.Count)
                    ctx.Out.WriteLine($"  (note: the reference tests on {row.GetProperty("test_sets").GetInt32()} images, SetML on {testRows.Count})");
                Record(model, "PyTorch reference", row.GetProperty("test_accuracy").GetDouble(), double.NaN, null, row.GetProperty("train_seconds").GetDouble(),
                    new() { ["torch"] = row.GetProperty("torch").GetString() });
            }
        }

        table.Print(ctx.Out, $"Fashion-MNIST point sets, 10 classes: {trainRows.Count} training / {testRows.Count} test images, ≤ {points} points (x, y, intensity), {ctx.Epochs} epochs; chance 0.1:");
        if (names.Count > 0)
        {
            Pictures.Bars(ctx, "point-sets-accuracy.png", $"Fashion-MNIST point sets ({trainRows.Count} train, {ctx.Epochs} epochs): test accuracy",
                names, accuracies, "test accuracy", 0.1, "chance");
            if (ctx.Curves.Count > 0)
                Pictures.TrainingCurves(ctx, "point-sets-training-curves.png", "Learning curves: training cross-entropy per epoch, every SetML encoder", yLabel: "cross-entropy");
        }
        var cells = Enumerable.Range(0, 10).Select(c => testRows.FirstOrDefault(r => r.ClassIndex == c)).OfType<LabelledSet>()
            .Select(r => (XY(r.Set), (float[]?)null, r.Label)).ToList();
        Pictures.PointSetGrid(ctx, "point-sets-examples.png", $"One test point set per class (≤ {points} pixels above the image mean)", cells, 5);
        return failures == 0 ? 0 : 1;
    }

    /// <summary>The (x, 1 − y) coordinates of a (x, y, intensity) set, for drawing upright.</summary>
    private static float[] XY(float[] set)
    {
        var r = new float[set.Length / 3 * 2];
        for (int i = 0; i < set.Length / 3; i++) { r[2 * i] = set[3 * i]; r[2 * i + 1] = 1 - set[3 * i + 1]; }
        return r;
    }
}
