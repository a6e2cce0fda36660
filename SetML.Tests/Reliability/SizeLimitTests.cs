using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Tests.Reliability;

/// <summary>The maximum set size and the memory budget: clear errors at Fit and at prediction, and batches split transparently.</summary>
[TestClass]
public sealed class SizeLimitTests
{
    private static SetRegressionOptions Tiny(int maximumSetSize = 0, long budget = 0, int epochs = 2) => new()
    {
        Epochs = epochs, BatchSize = 16, Seed = 3, MaximumSetSize = maximumSetSize, MemoryBudgetBytes = budget,
        Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 },
        HeadHiddenSizes = new[] { 8 },
    };

    private static PointSetRow Row(int n) => new() { Points = Enumerable.Range(0, 2 * n).Select(i => (i % 7) / 7f).ToArray(), Label = 1 };

    [TestMethod]
    public void SetAboveMaximumSize_ClearErrorAtFitAndAtPrediction()
    {
        var ml = new MLContext(0);
        var rows = TestSets.Points(30, 4, maxN: 8);
        rows[17] = Row(9);
        var e = Assert.ThrowsExactly<SetColumnException>(() => ml.Regression.Trainers.DeepSets("Label", "Points", 2, Tiny(maximumSetSize: 8)).Fit(TestSets.Load(ml, rows)));
        Assert.AreEqual(SetRule.MaximumSize, e.Rule);
        Assert.AreEqual(17L, e.Row);
        foreach (var part in new[] { "Set column 'Points', row 17", "has 9 elements", "maximum set size of 8", "raise MaximumSetSize" })
            StringAssert.Contains(e.Message, part);

        using var model = ml.Regression.Trainers.DeepSets("Label", "Points", 2, Tiny(maximumSetSize: 8)).Fit(TestSets.Load(ml, TestSets.Points(30, 4, maxN: 8)));
        var engine = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(model);
        Assert.IsTrue(float.IsFinite(engine.Predict(Row(8)).Score));
        e = Assert.ThrowsExactly<SetColumnException>(() => engine.Predict(Row(20)));
        Assert.AreEqual(SetRule.MaximumSize, e.Rule);
        StringAssert.Contains(e.Message, "has 20 elements");
        e = Assert.ThrowsExactly<SetColumnException>(() => model.Transform(TestSets.Load(ml, new[] { Row(3), Row(3), Row(12) })).GetColumn<float>("Score").ToArray());
        Assert.AreEqual(2L, e.Row);
    }

    [TestMethod]
    public void SetPooling_MaximumSetSize()
    {
        var ml = new MLContext(0);
        var estimator = ml.Transforms.SetPooling("F", "Points", 2, SetPoolingKind.Mean);
        estimator.MaximumSetSize = 4;
        var pooling = estimator.Fit(TestSets.Load(ml, new[] { Row(2) }));
        var e = Assert.ThrowsExactly<SetColumnException>(() => pooling.Transform(TestSets.Load(ml, new[] { Row(2), Row(5) })).GetColumn<VBuffer<float>>("F").ToArray());
        Assert.AreEqual(SetRule.MaximumSize, e.Rule);
        Assert.AreEqual(1L, e.Row);
    }

    [TestMethod]
    public void BatchOverTheBudget_IsSplit_SamePredictions()
    {
        var ml = new MLContext(0);
        var data = TestSets.Load(ml, TestSets.Points(80, 6, maxN: 30));
        using var model = ml.Regression.Trainers.DeepSets("Label", "Points", 2, Tiny()).Fit(data);
        var whole = model.Transform(data).GetColumn<float>("Score").ToArray();
        // A budget for about 4 sets of 30 elements: the 64-row prediction batches must be split into ≥ 16 parts.
        var spec = model.Spec;
        long budget = (long)(spec.EstimateForwardBytes(4, new long[] { 30 }) + 1);
        Assert.IsGreaterThan(budget, (long)spec.EstimateForwardBytes(64, new long[] { 30 }), "the budget would not force a split");
        model.MemoryBudgetBytes = budget;
        var split = model.Transform(data).GetColumn<float>("Score").ToArray();
        Assert.AreEqual(whole.Length, split.Length);
        for (int i = 0; i < whole.Length; i++) Assert.AreEqual(whole[i], split[i], 1e-5f, $"row {i}");
    }

    [TestMethod]
    public void TrainingBatchOverTheBudget_IsSplit_GradientsAccumulated()
    {
        var ml = new MLContext(0);
        var data = TestSets.Load(ml, TestSets.Points(64, 8, maxN: 30));
        using var reference = ml.Regression.Trainers.DeepSets("Label", "Points", 2, Tiny(epochs: 3)).Fit(data);
        var spec = reference.Spec;
        long budget = (long)(MemoryBudget.TrainingFactor * spec.EstimateForwardBytes(3, new long[] { 30 }) + 1);
        using var split = ml.Regression.Trainers.DeepSets("Label", "Points", 2, Tiny(budget: budget, epochs: 3)).Fit(data);
        Assert.AreEqual(budget, split.MemoryBudgetBytes, "the transformer keeps the budget of the options");
        var a = reference.Transform(data).GetColumn<float>("Score").ToArray();
        var b = split.Transform(data).GetColumn<float>("Score").ToArray();
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(a[i], b[i], 1e-4f, $"row {i}: a split batch must train like the whole batch");
    }

    [TestMethod]
    public void SingleSetOverTheBudget_RefusedAtFitAndPrediction_NamingColumnRowAndLimit()
    {
        var ml = new MLContext(0);
        var options = Tiny();
        options.Encoder = new SetTransformerOptions { Width = 8, Heads = 2, Layers = 1 };
        using var model = ml.Regression.Trainers.SetTransformer("Label", "Points", 2, options).Fit(TestSets.Load(ml, TestSets.Points(20, 2)));
        long budget = (long)model.Spec.EstimateForwardBytes(1, new long[] { 100 });
        model.MemoryBudgetBytes = budget;
        var engine = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(model);
        Assert.IsTrue(float.IsFinite(engine.Predict(Row(100)).Score));
        var e = Assert.ThrowsExactly<SetColumnException>(() => engine.Predict(Row(200)));
        Assert.AreEqual(SetRule.MemoryBudget, e.Rule);
        foreach (var part in new[] { "Set column 'Points'", "has 200 elements", "SAB attention, quadratic", "sets of up to about 100 elements fit", "SetModelTransformer.MemoryBudgetBytes" })
            StringAssert.Contains(e.Message, part);

        var rows = TestSets.Points(20, 2);
        rows[11] = Row(200);
        options.MemoryBudgetBytes = budget;
        e = Assert.ThrowsExactly<SetColumnException>(() => ml.Regression.Trainers.SetTransformer("Label", "Points", 2, options).Fit(TestSets.Load(ml, rows)));
        Assert.AreEqual(SetRule.MemoryBudget, e.Rule);
        Assert.AreEqual(11L, e.Row);
        StringAssert.Contains(e.Message, "at training");
        StringAssert.Contains(e.Message, "MemoryBudgetBytes in the options");
    }

    [TestMethod]
    public void EstimatesGrowAsDocumented()
    {
        // Linear in n for per-element encoders and ISAB; quadratic for SAB and relation networks; n^k for k-ary Janossy.
        double Ratio(SetEncoderOptions o) => o.EstimateForwardBytes(3, 1, 20_000) / o.EstimateForwardBytes(3, 1, 10_000);
        foreach (var linear in new SetEncoderOptions[] { new DeepSetsOptions(), new SetTransformerOptions { UseInducedPoints = true }, new SlotSetEncoderOptions(), new FSPoolOptions(), new EquivariantDeepSetsOptions(), new AttentionPoolingOptions(), new JanossyOptions { Mode = JanossyMode.PiSgd } })
            Assert.AreEqual(2, Ratio(linear), 0.05, linear.GetType().Name);
        foreach (var quadratic in new SetEncoderOptions[] { new SetTransformerOptions(), new RelationNetworkOptions(), new JanossyOptions { Mode = JanossyMode.KAry, TupleSize = 2 } })
            Assert.AreEqual(4, Ratio(quadratic), 0.1, quadratic.GetType().Name);
        Assert.AreEqual(8, Ratio(new JanossyOptions { Mode = JanossyMode.KAry, TupleSize = 3 }), 0.1);
        Assert.IsGreaterThan(0L, MemoryBudget.DefaultBytes);
        Assert.AreEqual(MemoryBudget.AvailableBytes / 2, MemoryBudget.DefaultBytes, 1);
    }
}
