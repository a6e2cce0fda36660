using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Trainers;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.SetToSet;

/// <summary>Permutation-equivariant set → set models (SAB/ISAB stack + per-element output).</summary>
[TestClass]
public sealed class SetToSetTests
{
    private sealed class Row
    {
        public float[] Set { get; set; } = Array.Empty<float>();
        public float[] Label { get; set; } = Array.Empty<float>();
    }

    private sealed class Output
    {
        public float[] Set { get; set; } = Array.Empty<float>();
        public float[] Score { get; set; } = Array.Empty<float>();
        public float[] PredictedLabel { get; set; } = Array.Empty<float>();
    }

    /// <summary>Per-element targets that need the whole set: x − mean(set) (regression) or x &gt; mean(set) (classification).</summary>
    private static List<Row> Rows(int count, int seed, bool classify)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var v = Enumerable.Range(0, rng.Next(2, 9)).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
            float mean = v.Average();
            return new Row { Set = v, Label = v.Select(x => classify ? (x > mean ? 1f : 0f) : x - mean).ToArray() };
        }).ToList();
    }

    private static SetToSetOptions Options(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 16, LearningRate = 3e-3,
        Layers = new SetTransformerOptions { Width = 16, Heads = 2, Layers = 2 },
    };

    [TestMethod]
    public void RegressionLearnsAContextDependentTargetAndIsEquivariant()
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(Rows(400, 1, false));
        var testRows = Rows(50, 2, false);
        var model = ml.Regression.Trainers.SetToSetRegression("Label", "Set", 1, 1, Options(8)).Fit(train);
        var output = model.Transform(ml.Data.LoadFromEnumerable(testRows));
        Assert.AreEqual(1, SetColumn.GetElementDimension(output.Schema["Score"]), "Score is a set column annotated with its element dimension");
        var preds = ml.Data.CreateEnumerable<Output>(output, false, ignoreMissingColumns: true).ToList();
        double mse = 0, baseline = 0; int n = 0;
        for (int i = 0; i < preds.Count; i++)
        {
            Assert.AreEqual(testRows[i].Set.Length, preds[i].Score.Length, "one output per element");
            for (int j = 0; j < preds[i].Score.Length; j++)
            {
                mse += Math.Pow(preds[i].Score[j] - testRows[i].Label[j], 2);
                baseline += Math.Pow(testRows[i].Label[j], 2);
                n++;
            }
        }
        Assert.IsTrue(mse / n < 0.5 * baseline / n, $"MSE {mse / n:F4} should beat the zero predictor {baseline / n:F4} by 2×");

        // equivariance of the trained network: permuting the elements permutes the outputs
        var net = (SetToSetNetwork)model.Network;
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var set = new float[] { 0.3f, -1.2f, 1.7f, 0.1f, -0.4f };
        var perm = new[] { 4, 2, 0, 3, 1 };
        var (x, m) = SetBatch.Pad(new[] { set }, 1);
        var (xp, mp) = SetBatch.Pad(new[] { perm.Select(p => set[p]).ToArray() }, 1);
        var y = net.forward(x, m).data<float>().ToArray();
        var yp = net.forward(xp, mp).data<float>().ToArray();
        for (int i = 0; i < perm.Length; i++) Assert.AreEqual(y[perm[i]], yp[i], 1e-5);
    }

    [TestMethod]
    public void ClassificationPredictsOneLabelPerElementAndRoundTrips()
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(Rows(400, 3, true));
        var testRows = Rows(50, 4, true);
        var test = ml.Data.LoadFromEnumerable(testRows);
        var model = ml.MulticlassClassification.Trainers.SetToSetClassification("Label", "Set", 1, 2, Options(8)).Fit(train);
        var preds = ml.Data.CreateEnumerable<Output>(model.Transform(test), false).ToList();
        int correct = 0, total = 0;
        for (int i = 0; i < preds.Count; i++)
        {
            Assert.AreEqual(2 * testRows[i].Set.Length, preds[i].Score.Length, "K probabilities per element");
            Assert.AreEqual(testRows[i].Set.Length, preds[i].PredictedLabel.Length);
            for (int j = 0; j < preds[i].PredictedLabel.Length; j++) { correct += preds[i].PredictedLabel[j] == testRows[i].Label[j] ? 1 : 0; total++; }
        }
        Assert.IsTrue(correct > 0.8 * total, $"accuracy {correct}/{total}");

        var path = Path.Combine(Path.GetTempPath(), $"setml-s2s-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, train.Schema, path);
            var again = ml.Data.CreateEnumerable<Output>(ml.Model.Load(path, out _).Transform(test), false).ToList();
            for (int i = 0; i < preds.Count; i++) CollectionAssert.AreEqual(preds[i].Score, again[i].Score);
        }
        finally { File.Delete(path); }

        var bad = Rows(3, 5, true);
        bad[2].Label = bad[2].Label.Take(1).ToArray();
        var ex = Assert.ThrowsExactly<SetColumnException>(() =>
            ml.MulticlassClassification.Trainers.SetToSetClassification("Label", "Set", 1, 2, Options(1)).Fit(ml.Data.LoadFromEnumerable(bad)));
        StringAssert.Contains(ex.Message, "row 2");
    }
}
