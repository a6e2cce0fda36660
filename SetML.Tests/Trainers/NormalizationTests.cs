using System.IO.Compression;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Foundation;
using SetML.Tests.Golden;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Tests.Trainers;

/// <summary>
/// Set-aware standardization: statistics over real elements only, the NormalizeSetElements transform, persistence
/// (bitwise), old model files without statistics, and invariance of a trained model to a per-feature affine change.
/// </summary>
[TestClass]
public sealed class NormalizationTests
{
    private static DeepSetsOptions Small(PoolingKind p) => new() { PhiHiddenSizes = new[] { 32 }, LatentDimension = 32, RhoHiddenSizes = new[] { 32 }, EmbeddingDimension = 16, Pooling = p };

    private sealed class Output
    {
        public float[] Normalized { get; set; } = Array.Empty<float>();
    }

    [TestMethod]
    public void Statistics_AreOverRealElementsOnly()
    {
        // Sets of 3, 1, 0 and 2 elements (d = 2): 6 real elements. A per-slot or padded statistic would differ.
        var sets = new[]
        {
            new float[] { 1, 10, 2, 20, 3, 30 },
            new float[] { 7, -5 },
            Array.Empty<float>(),
            new float[] { 4, 0, 5, 100 },
        };
        var xs = new double[] { 1, 2, 3, 7, 4, 5 };
        var ys = new double[] { 10, 20, 30, -5, 0, 100 };
        double Sd(double[] v) => Math.Sqrt(v.Select(a => (a - v.Average()) * (a - v.Average())).Average());
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(sets.Select(s => new PointSetRow { Points = s }));
        using var model = ml.Transforms.NormalizeSetElements("Normalized", "Points", 2).Fit(data);
        var stats = model.Spec.Inputs[0].Normalization!;
        Assert.AreEqual(6, stats.Count);
        Assert.AreEqual((float)xs.Average(), stats.Mean[0]);
        Assert.AreEqual((float)ys.Average(), stats.Mean[1]);
        Assert.AreEqual((float)Sd(xs), stats.Scale[0], 1e-6f);
        Assert.AreEqual((float)Sd(ys), stats.Scale[1], 1e-5f);

        var output = model.Transform(data);
        Assert.AreEqual(2, SetColumn.GetElementDimension(output.Schema["Normalized"]));
        var rows = ml.Data.CreateEnumerable<Output>(output, false, ignoreMissingColumns: true).Select(r => r.Normalized).ToArray();
        for (int i = 0; i < sets.Length; i++)
        {
            Assert.AreEqual(sets[i].Length, rows[i].Length, $"row {i} keeps its elements (no padding in the output)");
            for (int j = 0; j < sets[i].Length; j++)
                Assert.AreEqual((sets[i][j] - stats.Mean[j % 2]) / stats.Scale[j % 2], rows[i][j], 1e-5f, $"row {i} value {j}");
        }
        // Over the real elements the output has mean 0 and sd 1 per feature.
        var all = rows.SelectMany(r => r).ToArray();
        for (int f = 0; f < 2; f++)
        {
            var v = all.Where((_, k) => k % 2 == f).Select(a => (double)a).ToArray();
            Assert.AreEqual(0, v.Average(), 1e-6);
            Assert.AreEqual(1, Sd(v), 1e-5);
        }
    }

    [TestMethod]
    public void Statistics_AreSavedAndReloadedBitwise_TransformInFrontOfAnyComponent()
    {
        var ml = new MLContext(0);
        var rows = TestSets.Points(300, 7).Select(r => new PointSetRow { Points = r.Points.Select(v => 1000 * v - 3).ToArray(), Label = r.Label }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        // The transform in front of an ML.NET component (SetPooling → Sdca), and a trainer with its own statistics.
        var pipeline = ml.Transforms.NormalizeSetElements("Normalized", "Points", 2)
            .Append(ml.Transforms.SetPooling("Pooled", "Normalized", 2, SetPoolingKind.Mean, SetPoolingKind.Max))
            .Append(ml.Regression.Trainers.Sdca("Label", "Pooled", maximumNumberOfIterations: 10));
        var model = pipeline.Fit(data);
        var trainer = ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 2, Encoder = Small(PoolingKind.Max) }).Fit(data);
        foreach (var (m, name) in new (ITransformer, string)[] { (model, "pipeline"), (trainer, "trainer") })
        {
            using var ms = new MemoryStream();
            ml.Model.Save(m, data.Schema, ms);
            ms.Position = 0;
            var loaded = ml.Model.Load(ms, out _);
            var before = Stats(m);
            var after = Stats(loaded);
            Assert.AreEqual(before.Length, after.Length);
            for (int i = 0; i < before.Length; i++)
                CollectionAssert.AreEqual(before[i].Select(BitConverter.SingleToInt32Bits).ToArray(), after[i].Select(BitConverter.SingleToInt32Bits).ToArray(), $"{name}: statistics {i} bitwise");
            var p0 = m.Transform(data).GetColumn<float>("Score").ToArray();
            var p1 = loaded.Transform(data).GetColumn<float>("Score").ToArray();
            CollectionAssert.AreEqual(p0, p1, $"{name}: same predictions after reload");
        }
        var reg = (EncoderModelSpec)trainer.Spec;
        Assert.IsNotNull(reg.Inputs[0].Normalization);
        Assert.IsNotNull(reg.LabelNormalization, "regression label standardized by default");
    }

    private static float[][] Stats(ITransformer t)
    {
        var models = t is IEnumerable<ITransformer> c ? c.OfType<SetModelTransformer>() : t is SetModelTransformer s ? new[] { s } : Array.Empty<SetModelTransformer>();
        return models.SelectMany(m => new[] { m.Spec.Inputs[0].Normalization, (m.Spec as EncoderModelSpec)?.LabelNormalization })
            .Where(n => n != null).SelectMany(n => new[] { n!.Mean, n.Scale }).ToArray();
    }

    [TestMethod]
    public void OldModelFileWithoutStatistics_LoadsAndPredictsAsBefore()
    {
        // The golden files (SetML.Tests/Golden) were saved before SetML had set-element standardization: every one must
        // load without statistics (identity), and GoldenModelTests checks they still predict exactly their stored values.
        var ml = new MLContext(0);
        int models = 0;
        foreach (int version in GoldenModelTests.Versions)
            foreach (var zip in Directory.GetFiles(GoldenModelTests.Folder(version), "*.zip"))
            {
                var loaded = ml.Model.Load(zip, out _);
                var chain = loaded as IEnumerable<ITransformer> ?? new[] { loaded };
                foreach (var t in chain.OfType<SetModelTransformer>())
                {
                    models++;
                    foreach (var input in t.Spec.Inputs) Assert.IsNull(input.Normalization, zip);
                    if (t.Spec is EncoderModelSpec e) Assert.IsNull(e.LabelNormalization, zip);
                }
            }
        Assert.IsGreaterThanOrEqualTo(29, models);
    }

    [TestMethod]
    public void TrainedModel_IsInvariantToAnAffineChangeOfItsInput()
    {
        // Class = bucket of max(x + y) over the set: depends on the values, not only on the set size.
        static List<PointSetRow> Rows(int n, int seed, float a, float b) => TestSets.Points(n, seed).Select(r => new PointSetRow
        {
            Points = r.Points.Select(v => a * v + b).ToArray(),
            Category = r.Label < 1.2f ? "low" : r.Label < 1.6f ? "mid" : "high",
        }).ToList();
        double Accuracy(float a, float b, bool normalize)
        {
            var ml = new MLContext(0);
            var model = ml.Transforms.Conversion.MapValueToKey("Label", "Category")
                .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Points", 2, new SetModelOptions
                {
                    Epochs = 15, Encoder = Small(PoolingKind.Max), LearningRate = 3e-3, NormalizeSetElements = normalize,
                })).Fit(ml.Data.LoadFromEnumerable(Rows(600, 31, a, b)));
            return ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(Rows(400, 32, a, b)))).MicroAccuracy;
        }
        double plain = Accuracy(1, 0, true), scaled = Accuracy(100, 5, true);
        if (Environment.GetEnvironmentVariable("SETML_PROBE") == "1") Console.WriteLine($"without standardization: x {Accuracy(1, 0, false):F4}, 100·x + 5 {Accuracy(100, 5, false):F4}");
        Console.WriteLine($"accuracy on x {plain:F4}, on 100·x + 5 {scaled:F4}");
        Assert.IsTrue(plain > 0.8, $"accuracy on x = {plain}");
        Assert.AreEqual(plain, scaled, 0.005, "same accuracy (±0.5 point) on x and on 100·x + 5");
    }
}
