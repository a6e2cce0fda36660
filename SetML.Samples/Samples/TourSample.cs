using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Data;
using SetML.Samples.Infrastructure;
using SetML.Trainers;
using SetML.Training;

namespace SetML.Samples.Samples;

/// <summary>
/// The tour (no sub-command): one small model of each family SetML offers, each trained with a progress bar, evaluated,
/// saved as an ML.NET .zip, reloaded and checked to predict exactly the same; one table, pictures, results.json.
/// </summary>
public sealed class TourSample : Sample
{
    /// <inheritdoc />
    public override string Name => SampleCli.TourName;

    /// <inheritdoc />
    public override string Description => "a small model of each family (set→vector, vector→set, set→set): train, evaluate, save, reload (under 3 minutes)";

    /// <inheritdoc />
    public override int DefaultEpochs => 10;

    /// <inheritdoc />
    public override string Help => Description + @"

Each step trains a small model with the options given, prints its metric, saves the model with mlContext.Model.Save,
loads it back with mlContext.Model.Load and checks that the reloaded model predicts exactly what the original does.
  set → vector   Deep Sets regression: the largest of 1–10 numbers (Zaheer et al., 2017).
  set → vector   Fashion-MNIST images as 2-D point sets (DSPN's construction): a Deep Sets featurizer
                 (mlContext.Transforms.DeepSets) followed by ML.NET's L-BFGS maximum-entropy classifier.
  vector → set   DSPN set auto-encoder (mlContext.SetPrediction().Trainers.Dspn): 2–5 points → a vector → the
                 set decoded back by gradient descent on the set (no output order, see docs/concepts.md).
  set → set      Set Transformer SAB stack (SetToSetClassification): mark every number of a set that is above the
                 set's mean (a per-element answer that needs the whole set).
Pictures: training curves, predicted vs true maxima, the featurizer's embedding (PCA), point sets with their predicted
class, DSPN reconstructions over their input sets.";

    /// <inheritdoc />
    public override int Run(SampleContext ctx)
    {
        var table = new TextTable("Family", "Model", "Task", "Metric", "Value", "Reloaded: max abs Δ", "Seconds");
        var steps = new List<Func<SampleContext, TourResult>> { MaxRegression, PointSetFeaturizer, DspnAutoencoder, AboveMean };
        int failures = 0;
        foreach (var step in steps)
        {
            if (ctx.Cancellation.IsCancellationRequested) break;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var r = step(ctx);
            double seconds = Math.Round(watch.Elapsed.TotalSeconds, 1);
            bool identical = r.ReloadDifference <= r.Tolerance;
            if (!identical) failures++;
            table.Row(r.Family, r.Model, r.Task, r.Metric, r.Value, r.ReloadDifference.ToString("G3") + (identical ? " (same)" : " (DIFFERENT)"), seconds.ToString("0.0"));
            ctx.Results.Add(r.Model, new Dictionary<string, double> { [r.Metric] = r.Value, ["reloadMaxDifference"] = r.ReloadDifference },
                extra: new Dictionary<string, object?> { ["family"] = r.Family, ["task"] = r.Task, ["modelFile"] = Path.GetFileName(r.ModelPath), ["wallSeconds"] = seconds });
        }
        table.Print(ctx.Out, "Tour results (test data; 'Reloaded' compares the predictions of the saved-and-loaded .zip with the original):");
        if (ctx.Curves.Count > 0)
            Pictures.TrainingCurves(ctx, "tour-training-curves.png", "Training loss per epoch of every tour model", relative: true);
        if (failures > 0) ctx.Out.WriteLine($"{failures} reloaded model(s) predicted differently from the original.");
        return failures == 0 ? 0 : 1;
    }

    private sealed record TourResult(string Family, string Model, string Task, string Metric, double Value, double ReloadDifference, string ModelPath, double Tolerance = 1e-6);

    private sealed class NumberSet
    {
        public float[] Set { get; set; } = Array.Empty<float>();
        public float Label { get; set; }
    }

    // set → vector: Deep Sets learns max(x) of 1–10 numbers in [0, 1].
    private static TourResult MaxRegression(SampleContext ctx)
    {
        var ml = new MLContext(ctx.Seed);
        var rng = new Random(ctx.Seed);
        NumberSet Make()
        {
            var v = Enumerable.Range(0, rng.Next(1, 11)).Select(_ => (float)rng.NextDouble()).ToArray();
            return new NumberSet { Set = v, Label = v.Max() };
        }
        int nTrain = ctx.Quick ? 200 : 2000, nTest = ctx.Quick ? 100 : 500;
        var train = ml.Data.LoadFromEnumerable(Enumerable.Range(0, nTrain).Select(_ => Make()).ToList());
        var testRows = Enumerable.Range(0, nTest).Select(_ => Make()).ToList();
        var test = ml.Data.LoadFromEnumerable(testRows);

        var options = ctx.TrainingOptions<SetRegressionOptions>("Deep Sets max regression");
        options.Encoder = new DeepSetsOptions { Pooling = PoolingKind.Max, PhiHiddenSizes = new[] { 32, 32 }, LatentDimension = 32, RhoHiddenSizes = new[] { 32 }, EmbeddingDimension = 16 };
        options.HeadHiddenSizes = new[] { 16 };
        var model = ml.Regression.Trainers.DeepSets("Label", "Set", 1, options).Fit(train);
        var metrics = ml.Regression.Evaluate(model.Transform(test));
        var path = ctx.OutputPath("tour-max-regression.zip");
        var (diff, reloaded) = ModelCheck.SaveReload(ml, model, train.Schema, test, "Score", path);

        // A PredictionEngine on the reloaded model, as an application would use it.
        var engine = ml.Model.CreatePredictionEngine<NumberSet, ScorePrediction>(reloaded);
        var example = new NumberSet { Set = new[] { 0.1f, 0.9f, 0.3f } };
        ctx.Out.WriteLine($"  reloaded model: max{{0.1, 0.9, 0.3}} ≈ {engine.Predict(example).Score:F3}");

        var scores = model.Transform(test).GetColumn<float>("Score").ToArray();
        Pictures.Lines(ctx, "tour-max-regression.png", "Deep Sets: predicted vs true maximum of a set (test sets)",
            new[] { ("test set", testRows.Select(r => (double)r.Label).ToArray(), scores.Select(s => (double)s).ToArray()) },
            "true max", "predicted max", diagonal: true, markersOnly: true);
        return new TourResult("set → vector", "Deep Sets (max pooling)", "regression: max of a set", "MAE", metrics.MeanAbsoluteError, diff, path);
    }

    private sealed class ElementLabels
    {
        public float[] Set { get; set; } = Array.Empty<float>();
        public float[] Label { get; set; } = Array.Empty<float>();
    }

    // set → set: per element, is it above its set's mean? (equivariant: answers move with the elements)
    private static TourResult AboveMean(SampleContext ctx)
    {
        var ml = new MLContext(ctx.Seed);
        var rng = new Random(ctx.Seed + 2);
        ElementLabels Make()
        {
            var v = Enumerable.Range(0, rng.Next(2, 11)).Select(_ => (float)rng.NextDouble()).ToArray();
            float mean = v.Average();
            return new ElementLabels { Set = v, Label = v.Select(x => x > mean ? 1f : 0f).ToArray() };
        }
        int nTrain = ctx.Quick ? 200 : 2000, nTest = ctx.Quick ? 100 : 500;
        var train = ml.Data.LoadFromEnumerable(Enumerable.Range(0, nTrain).Select(_ => Make()).ToList());
        var testRows = Enumerable.Range(0, nTest).Select(_ => Make()).ToList();
        var test = ml.Data.LoadFromEnumerable(testRows);

        var options = ctx.TrainingOptions<SetToSetOptions>("Set Transformer above-mean (set → set)");
        options.Layers = new SetTransformerOptions { Width = 32, Heads = 4, Layers = 2 };
        var model = ml.MulticlassClassification.Trainers.SetToSetClassification("Label", "Set", 1, 2, options).Fit(train);
        var predicted = model.Transform(test).GetColumn<VBuffer<float>>("PredictedLabel").Select(v => v.DenseValues().ToArray()).ToList();
        double correct = 0, total = 0;
        for (int i = 0; i < testRows.Count; i++)
            for (int k = 0; k < testRows[i].Label.Length; k++) { total++; if (predicted[i][k] == testRows[i].Label[k]) correct++; }
        var path = ctx.OutputPath("tour-above-mean.zip");
        var (diff, _) = ModelCheck.SaveReload(ml, model, train.Schema, test, "Score", path);
        return new TourResult("set → set", "Set Transformer SAB × 2 (SetToSetClassification)", "per element: above the set's mean?", "element accuracy", correct / total, diff, path);
    }

    private sealed class PointSetRow
    {
        public float[] Set { get; set; } = Array.Empty<float>();
    }

    // vector → set: a DSPN set auto-encoder (Zhang et al., 2019): 2–5 points → a vector → decoded back into a set by
    // gradient steps on the set itself, so no output order is ever imposed (the responsibility problem, docs/concepts.md).
    private static TourResult DspnAutoencoder(SampleContext ctx)
    {
        var ml = new MLContext(ctx.Seed);
        var rng = new Random(ctx.Seed + 3);
        PointSetRow Make() => new() { Set = Enumerable.Range(0, 2 * rng.Next(2, 6)).Select(_ => (float)rng.NextDouble()).ToArray() };
        int nTrain = ctx.Quick ? 100 : 800, nTest = ctx.Quick ? 24 : 200;
        var train = ml.Data.LoadFromEnumerable(Enumerable.Range(0, nTrain).Select(_ => Make()).ToList());
        var testRows = Enumerable.Range(0, nTest).Select(_ => Make()).ToList();
        var test = ml.Data.LoadFromEnumerable(testRows);

        // Small and fast for the tour: 5 inner steps (the paper: 10), a 64-wide g_enc (the paper: 256).
        var options = ctx.TrainingOptions<SetPredictionOptions>("DSPN set auto-encoder (vector → set)");
        options.Decoder = new DspnOptions { InnerSteps = 5, EncoderHiddenSizes = new[] { 64, 64 } };
        options.LearningRate = 3e-3;
        var model = ml.SetPrediction().Trainers.Dspn("Set", "Set", 2, options).Fit(train);
        var scored = model.Transform(test);
        var metrics = ml.SetPrediction().Evaluate(scored, elementDimension: 2, "Set", "PredictedSet");
        var path = ctx.OutputPath("tour-dspn-autoencoder.zip");
        var (diff, _) = ModelCheck.SaveReload(ml, model, train.Schema, test, "PredictedSet", path);

        var predicted = scored.GetColumn<VBuffer<float>>("PredictedSet").Select(v => v.DenseValues().ToArray()).ToList();
        var cells = Enumerable.Range(0, Math.Min(8, testRows.Count))
            .Select(i => (testRows[i].Set, (float[]?)predicted[i], $"{testRows[i].Set.Length / 2} points → {predicted[i].Length / 2}")).ToList();
        Pictures.PointSetGrid(ctx, "tour-dspn-autoencoder.png", "DSPN auto-encoder: test point sets (filled) and their reconstructions (circles)",
            cells, 4, ("input set", "reconstruction"));
        return new TourResult("vector → set", "DSPN set auto-encoder", "set → vector → the same set", "Hungarian matched sq. error",
            metrics.MatchedSquaredError, diff, path, Tolerance: 1e-5);
    }

    private sealed class ScorePrediction
    {
        public float Score { get; set; }
    }

    // set → vector: a Deep Sets featurizer on Fashion-MNIST point sets, then an ML.NET classifier on the embedding.
    private static TourResult PointSetFeaturizer(SampleContext ctx)
    {
        var ml = new MLContext(ctx.Seed);
        int nTrain = ctx.Quick ? 200 : 2000, nTest = ctx.Quick ? 100 : 500, maxPoints = ctx.Quick ? 32 : 64;
        var trainRows = FashionPointSets.Load(FashionMnistSplit.Train, nTrain, maxPoints, ctx.Seed);
        var testRows = FashionPointSets.Load(FashionMnistSplit.Test, nTest, maxPoints, ctx.Seed + 1);
        var train = ml.Data.LoadFromEnumerable(trainRows);
        var test = ml.Data.LoadFromEnumerable(testRows);

        var options = ctx.TrainingOptions<SetFeaturizerOptions>("Deep Sets featurizer (point sets)");
        options.Encoder = new DeepSetsOptions { Pooling = PoolingKind.Max, EmbeddingDimension = 32 };
        var pipeline = FashionPointSets.MapLabel(ml)
            .Append(ml.Transforms.DeepSets("Embedding", "Set", 2, "Label", options))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy("Label", "Embedding"))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel"));
        var model = pipeline.Fit(train);
        var predictions = model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(predictions);
        var path = ctx.OutputPath("tour-point-sets.zip");
        var (diff, _) = ModelCheck.SaveReload(ml, model, train.Schema, test, "Score", path);

        var embeddings = predictions.GetColumn<VBuffer<float>>("Embedding").Select(v => v.DenseValues().ToArray()).ToList();
        Pictures.EmbeddingScatter(ctx, "tour-embedding-pca.png",
            "Deep Sets embedding of Fashion-MNIST point sets (test), first two principal components, coloured by true class",
            embeddings, testRows.Select(r => r.ClassIndex).ToList(), FashionMnist.ClassNames);
        var predicted = predictions.GetColumn<string>("PredictedClass").ToArray();
        var cells = Enumerable.Range(0, Math.Min(12, testRows.Count))
            .Select(i => (testRows[i].Set, (float[]?)null, $"{testRows[i].Label} → {predicted[i]}")).ToList();
        Pictures.PointSetGrid(ctx, "tour-point-sets.png", "Fashion-MNIST test images as point sets: true class → predicted class", cells, 4);
        return new TourResult("set → vector", "Deep Sets featurizer + L-BFGS max-ent", "10-class point-set classification", "accuracy", metrics.MicroAccuracy, diff, path);
    }
}
