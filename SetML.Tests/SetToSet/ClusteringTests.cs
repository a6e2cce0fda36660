using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Trainers;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.SetToSet;

/// <summary>Amortized clustering: mixture-of-Gaussians math, trainer, evaluation (LL0/LL1), persistence.</summary>
[TestClass]
public sealed class ClusteringTests
{
    private sealed class Row
    {
        public float[] Set { get; set; } = Array.Empty<float>();
    }

    private sealed class Output
    {
        public float[] Set { get; set; } = Array.Empty<float>();
        public float[] PredictedClusters { get; set; } = Array.Empty<float>();
        [VectorType(2)] public float[] MixtureWeights { get; set; } = Array.Empty<float>();
        [VectorType(4)] public float[] MixtureMeans { get; set; } = Array.Empty<float>();
        [VectorType(4)] public float[] MixtureVariances { get; set; } = Array.Empty<float>();
    }

    /// <summary>Sets of 2-D points from 2 well separated Gaussians (σ = 0.3), like the paper's generator with k = 2.</summary>
    private static List<Row> MixtureSets(int count, int seed)
    {
        var rng = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return Enumerable.Range(0, count).Select(_ =>
        {
            var centres = new[] { rng.NextDouble() * 8 - 4, rng.NextDouble() * 8 - 4, rng.NextDouble() * 8 - 4, rng.NextDouble() * 8 - 4 };
            int n = rng.Next(20, 41);
            var pts = new float[n * 2];
            for (int i = 0; i < n; i++)
            {
                int z = rng.Next(2);
                pts[2 * i] = (float)(centres[2 * z] + 0.3 * Normal());
                pts[2 * i + 1] = (float)(centres[2 * z + 1] + 0.3 * Normal());
            }
            return new Row { Set = pts };
        }).ToList();
    }

    [TestMethod]
    public void LogLikelihoodMatchesTheFormulaAndIgnoresPadding()
    {
        using var scope = torch.NewDisposeScope();
        // one component, N(0, I) in 2-D, one point at the origin: log p = −log(2π); a second component with π ≈ 0 changes nothing
        var theta = torch.tensor(new float[] { 0, 0, 0, 0, 0, -30, 5, 5, 0, 0 }, new long[] { 1, 2, 5 });
        var (x, m) = SetBatch.Pad(new[] { new float[] { 0, 0 } }, 2, minimumLength: 3);
        var ll = MixtureOfGaussians.LogLikelihoodPerPoint(theta, x, m).item<float>();
        Assert.AreEqual(-Math.Log(2 * Math.PI), ll, 1e-5);
        // σ = e^1 in both dims at x = (e, 0): log N = −½·1 − 2 − log 2π
        var theta2 = torch.tensor(new float[] { 0, 0, 0, 1, 1 }, new long[] { 1, 1, 5 });
        var (x2, m2) = SetBatch.Pad(new[] { new float[] { MathF.E, 0 } }, 2);
        Assert.AreEqual(-0.5 - 2 - Math.Log(2 * Math.PI), MixtureOfGaussians.LogLikelihoodPerPoint(theta2, x2, m2).item<float>(), 1e-5);
    }

    [TestMethod]
    public void EmStepNeverDecreasesTheLikelihood()
    {
        using var scope = torch.NewDisposeScope();
        var sets = MixtureSets(6, 1).Select(r => r.Set).ToList();
        var (x, m) = SetBatch.Pad(sets, 2);
        var xd = x.to(ScalarType.Float64);
        lock (TorchRuntime.InitializationLock) TorchRuntime.Seed(3);
        var theta = torch.randn(6, 2, 5, dtype: ScalarType.Float64);
        var ll0 = MixtureOfGaussians.LogLikelihoodPerPoint(theta, xd, m).data<double>().ToArray();
        var theta1 = MixtureOfGaussians.EmStep(theta, xd, m);
        var ll1 = MixtureOfGaussians.LogLikelihoodPerPoint(theta1, xd, m).data<double>().ToArray();
        for (int i = 0; i < 6; i++) Assert.IsTrue(ll1[i] >= ll0[i] - 1e-9, $"set {i}: {ll1[i]} < {ll0[i]}");
        // padding does not change the EM update of a set
        var (xs, ms) = SetBatch.Pad(new[] { sets[0] }, 2);
        var alone = MixtureOfGaussians.EmStep(theta[..1], xs.to(ScalarType.Float64), ms);
        Assert.IsTrue((alone - theta1[..1]).abs().max().item<double>() < 1e-9);
    }

    [TestMethod]
    public void AmortizedMixtureTrainsPredictsEvaluatesAndRoundTrips()
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(MixtureSets(300, 2));
        var test = ml.Data.LoadFromEnumerable(MixtureSets(20, 3));
        var options = new AmortizedMixtureOptions
        {
            Components = 2, Epochs = 2, BatchSize = 10, LearningRate = 3e-3,
            Encoder = new SetTransformerOptions { UseInducedPoints = true, InducingPoints = 4, Width = 32, Heads = 4, Seeds = 2, Layers = 1 },
        };
        var untrainedOptions = new AmortizedMixtureOptions { Components = 2, Epochs = 0, Encoder = options.Encoder };
        var model = ml.Clustering.Trainers.AmortizedMixture("Set", 2, options).Fit(train);
        var untrained = ml.Clustering.Trainers.AmortizedMixture("Set", 2, untrainedOptions).Fit(train);

        var predictions = model.Transform(test);
        var metrics = ml.Clustering.EvaluateAmortizedMixture(predictions, "Set", 2);
        var before = ml.Clustering.EvaluateAmortizedMixture(untrained.Transform(test), "Set", 2);
        Assert.AreEqual(20, metrics.Sets);
        Assert.IsTrue(double.IsFinite(metrics.LogLikelihood) && double.IsFinite(metrics.LogLikelihoodAfterEmStep));
        Assert.IsTrue(metrics.LogLikelihood > before.LogLikelihood + 0.5, $"training must improve LL0: {before.LogLikelihood} → {metrics.LogLikelihood}");
        Assert.IsTrue(metrics.LogLikelihoodAfterEmStep >= metrics.LogLikelihood - 1e-9, "one EM step cannot lower the likelihood");

        var rows = ml.Data.CreateEnumerable<Output>(predictions, false).ToList();
        foreach (var r in rows)
        {
            Assert.AreEqual(r.Set.Length / 2, r.PredictedClusters.Length, "one component per point");
            Assert.IsTrue(r.PredictedClusters.All(c => c == 0 || c == 1));
            Assert.AreEqual(1.0, r.MixtureWeights.Sum(), 1e-5);
            Assert.IsTrue(r.MixtureVariances.All(v => v > 0 && float.IsFinite(v)));
        }

        var path = Path.Combine(Path.GetTempPath(), $"setml-amix-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, train.Schema, path);
            var loaded = ml.Model.Load(path, out _);
            var again = ml.Data.CreateEnumerable<Output>(loaded.Transform(test), false).ToList();
            for (int i = 0; i < rows.Count; i++)
            {
                CollectionAssert.AreEqual(rows[i].MixtureMeans, again[i].MixtureMeans);
                CollectionAssert.AreEqual(rows[i].MixtureVariances, again[i].MixtureVariances);
                CollectionAssert.AreEqual(rows[i].PredictedClusters, again[i].PredictedClusters);
            }
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void BadInputIsReportedClearly()
    {
        var ml = new MLContext(0);
        var rows = MixtureSets(3, 4);
        rows[1].Set = new[] { 1f, 2f, 3f };                   // not a multiple of d = 2
        var ex = Assert.ThrowsExactly<SetColumnException>(() => ml.Clustering.Trainers.AmortizedMixture("Set", 2,
            new AmortizedMixtureOptions { Epochs = 1 }).Fit(ml.Data.LoadFromEnumerable(rows)));
        StringAssert.Contains(ex.Message, "row 1");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Clustering.Trainers.AmortizedMixture("Set", 2, new AmortizedMixtureOptions { Components = 0 }));
    }
}
