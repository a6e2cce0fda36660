using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.SetColumns;
using SetML.Tests.Foundation;

namespace SetML.Tests.Encoders;

/// <summary>The non-learned SetPooling transform: statistics, schema, persistence, errors.</summary>
[TestClass]
public sealed class SetPoolingTests
{
    private sealed class Row
    {
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    [TestMethod]
    public void Statistics_AreExact_EmptySetIsZero_PermutationAndPaddingInvariant()
    {
        var ml = new MLContext(seed: 0);
        var rows = new[]
        {
            new PointSetRow { Points = new[] { 1f, -2f, 3f, 4f, -5f, 0.5f } },
            new PointSetRow { Points = Array.Empty<float>() },
            new PointSetRow { Points = new[] { -5f, 0.5f, 1f, -2f, 3f, 4f } },          // the first set, permuted
            new PointSetRow { Points = new[] { 7f, 8f } },
        };
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = ml.Transforms.SetPooling("Features", "Points", 2,
            SetPoolingKind.Sum, SetPoolingKind.Mean, SetPoolingKind.Max, SetPoolingKind.Min, SetPoolingKind.Count).Fit(data);
        var output = model.Transform(data);
        var col = output.Schema["Features"];
        Assert.AreEqual(9, ((VectorDataViewType)col.Type).Size);
        VBuffer<ReadOnlyMemory<char>> names = default;
        col.Annotations.GetValue("SlotNames", ref names);
        CollectionAssert.AreEqual(new[] { "Sum[0]", "Sum[1]", "Mean[0]", "Mean[1]", "Max[0]", "Max[1]", "Min[0]", "Min[1]", "Count" },
            names.DenseValues().Select(n => n.ToString()).ToArray());
        var f = ml.Data.CreateEnumerable<Row>(output, false).Select(r => r.Features).ToList();
        EncoderChecks.AssertClose(new[] { -1f, 2.5f, -1f / 3, 2.5f / 3, 3f, 4f, -5f, -2f, 3f }, f[0], 1e-6, "set 0");
        CollectionAssert.AreEqual(new float[9], f[1], "empty set");
        CollectionAssert.AreEqual(f[0], f[2], "permuted set");
        EncoderChecks.AssertClose(new[] { 7f, 8f, 7f, 8f, 7f, 8f, 7f, 8f, 1f }, f[3], 1e-6, "single element");
    }

    [TestMethod]
    public void SaveLoad_GivesIdenticalFeatures_InAPipeline()
    {
        var ml = new MLContext(seed: 0);
        var train = TestSets.Load(ml, TestSets.Points(60, 3));
        var pipeline = ml.Transforms.SetPooling("Pooled", "Points", 2, SetPoolingKind.Max, SetPoolingKind.Count)
            .Append(ml.Transforms.Concatenate("Features", "Pooled"))
            .Append(ml.Regression.Trainers.Sdca("Label", "Features", maximumNumberOfIterations: 5));
        var model = pipeline.Fit(train);
        var before = ml.Data.CreateEnumerable<Row>(model.Transform(train), false).Select(r => r.Features).ToList();
        var path = Path.Combine(Path.GetTempPath(), $"setml-pool-{Environment.ProcessId}.zip");
        try
        {
            ml.Model.Save(model, train.Schema, path);
            var loaded = new MLContext(seed: 5).Model.Load(path, out _);
            var after = ml.Data.CreateEnumerable<Row>(loaded.Transform(train), false).Select(r => r.Features).ToList();
            for (int i = 0; i < before.Count; i++) CollectionAssert.AreEqual(before[i], after[i], $"row {i}");
            var engine = ml.Model.CreatePredictionEngine<PointSetRow, Row>(loaded);
            CollectionAssert.AreEqual(before[0], engine.Predict(TestSets.Points(60, 3)[0]).Features);
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void BadInput_ClearErrors()
    {
        var ml = new MLContext(seed: 0);
        Assert.ThrowsExactly<SetColumnException>(() => ml.Transforms.SetPooling("F", "Points", 0));
        Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.SetPooling("F", "Points", 2, SetPoolingKind.Max, SetPoolingKind.Max));
        var data = ml.Data.LoadFromEnumerable(new[] { new PointSetRow { Points = new[] { 1f, 2f, 3f } } });
        var est = ml.Transforms.SetPooling("F", "Points", 2, SetPoolingKind.Sum);
        Assert.ThrowsExactly<SetColumnException>(() => est.Fit(data).Transform(data).Preview());
        Assert.ThrowsExactly<SetColumnException>(() => ml.Transforms.SetPooling("F", "Missing", 2).Fit(data));
        var shape = est.GetOutputSchema(SetML.Persistence.SchemaShapes.FromSchema(data.Schema));
        Assert.IsTrue(SetML.Persistence.SchemaShapes.TryFindColumn(shape, "F", out _));
        Assert.ThrowsExactly<SetColumnException>(() => ml.Transforms.SetPooling("F", "Missing", 2).GetOutputSchema(SetML.Persistence.SchemaShapes.FromSchema(data.Schema)));
    }
}
