using Microsoft.ML;
using SetML.Samples.Data;
using SetML.Samples.Infrastructure;
using SetML.Training;

namespace SetML.Samples.Samples;

/// <summary>
/// Fashion-MNIST images as 2-D point sets (DSPN, Zhang et al. 2019, §5.1) classified into the 10 classes by every set
/// encoder SetML has, with the same data, epochs and training options for each.
/// </summary>
public sealed class PointSetsSample : Sample
{
    /// <inheritdoc />
    public override string Name => "point-sets";

    /// <inheritdoc />
    public override string Description => "Fashion-MNIST as 2-D point sets, 10-class accuracy of every set encoder (same budget each)";

    /// <inheritdoc />
    public override int DefaultEpochs => 5;

    /// <inheritdoc />
    public override string Help => Description + @"

Data: Fashion-MNIST (/usr/share/datasets/fashion-mnist, package dataset-fashion-mnist). Each 28×28 image becomes the
set of coordinates of its pixels brighter than the image's mean, scaled to [0, 1]² (DSPN's set version of MNIST);
each set keeps a random 32 of its points (a few hundred in full) so attention encoders cost the same order as pooling.
Default: 1,500 training and 1,000 test images, 5 epochs (quick: 48 / 24, 8 points).
Encoders: every public SetEncoderOptions type in the SetML assemblies, with its defaults (found by reflection), and
Deep Sets with sum, mean and max pooling; all trained with mlContext.MulticlassClassification.Trainers.SetClassification,
Adam lr 1e-3, batch 32, the same epochs and seed.
No paper reports this task; for orientation, the Set Transformer paper's Table 3 (ModelNet40 point clouds, 100 points)
has rFF + Pooling 0.7951 and ISAB(16) + PMA 0.8454 accuracy on a different, 40-class data set.";

    /// <inheritdoc />
    public override int Run(SampleContext ctx)
    {
        int nTrain = ctx.Quick ? 48 : 1500, nTest = ctx.Quick ? 24 : 1000, maxPoints = ctx.Quick ? 8 : 32;
        var trainRows = FashionPointSets.Load(FashionMnistSplit.Train, nTrain, maxPoints, ctx.Seed);
        var testRows = FashionPointSets.Load(FashionMnistSplit.Test, nTest, maxPoints, ctx.Seed + 1);
        ctx.Out.WriteLine($"{trainRows.Count} training and {testRows.Count} test point sets, ≤ {maxPoints} points each " +
                          $"(mean {testRows.Average(r => r.Set.Length / 2.0):F0}).");

        var table = new TextTable("Encoder", "Test accuracy", "Macro accuracy", "Parameters", "Mini-batch consistent", "Train seconds");
        var names = new List<string>();
        var accuracies = new List<double>();
        int failures = 0;
        foreach (var (name, encoder) in Encoders.All())
        {
            if (ctx.Cancellation.IsCancellationRequested) break;
            var ml = new MLContext(ctx.Seed);
            var train = ml.Data.LoadFromEnumerable(trainRows);
            var test = ml.Data.LoadFromEnumerable(testRows);
            var options = ctx.TrainingOptions<SetModelOptions>(name);
            options.Encoder = encoder;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                var model = FashionPointSets.MapLabel(ml)
                    .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Set", 2, options))
                    .Fit(train);
                double seconds = watch.Elapsed.TotalSeconds;
                var m = ml.MulticlassClassification.Evaluate(model.Transform(test));
                long parameters = Encoders.ParameterCount(encoder, 2);
                table.Row(name, m.MicroAccuracy, m.MacroAccuracy, parameters, encoder.IsMiniBatchConsistent ? "yes" : "no", seconds.ToString("0.0"));
                ctx.Results.Add(name, new Dictionary<string, double> { ["Test accuracy"] = m.MicroAccuracy, ["Macro accuracy"] = m.MacroAccuracy },
                    extra: new Dictionary<string, object?>
                    {
                        ["encoder"] = encoder.GetType().Name, ["parameters"] = parameters, ["miniBatchConsistent"] = encoder.IsMiniBatchConsistent,
                        ["trainSeconds"] = Math.Round(seconds, 1), ["trainSets"] = trainRows.Count, ["testSets"] = testRows.Count, ["maxPoints"] = maxPoints,
                    });
                names.Add(name);
                accuracies.Add(m.MicroAccuracy);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures++;
                ctx.Out.WriteLine($"  {name} failed: {ex.GetType().Name}: {ex.Message}");
                table.Row(name, double.NaN, double.NaN, null, encoder.IsMiniBatchConsistent ? "yes" : "no", "failed");
                ctx.Results.Add(name, new Dictionary<string, double>(), extra: new Dictionary<string, object?> { ["error"] = ex.Message });
            }
        }
        table.Print(ctx.Out, $"Fashion-MNIST point sets, 10 classes ({testRows.Count} test images; chance 0.1; no paper figure for this task):");

        if (names.Count > 0)
        {
            Pictures.Bars(ctx, "point-sets-accuracy.png", "Fashion-MNIST point-set classification: test accuracy per encoder",
                names, accuracies, "test accuracy", 0.1, "chance");
            Pictures.TrainingCurves(ctx, "point-sets-training-curves.png", "Training loss (cross-entropy) per epoch, every encoder", yLabel: "cross-entropy");
        }
        var cells = Enumerable.Range(0, 10).Select(c => testRows.FirstOrDefault(r => r.ClassIndex == c)).OfType<LabelledSet>()
            .Select(r => (r.Set, (float[]?)null, r.Label)).ToList();
        Pictures.PointSetGrid(ctx, "point-sets-examples.png", $"One test point set per class (≤ {maxPoints} points above the image mean)", cells, 5);
        return failures == 0 ? 0 : 1;
    }
}
