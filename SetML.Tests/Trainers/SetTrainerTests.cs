using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;

namespace SetML.Tests.Trainers;

/// <summary>
/// The set → vector trainers and featurizers as ML.NET components: standard output columns for Evaluate and
/// CrossValidate, determinism, thread safety, lazy transform, progress, devices, memory.
/// </summary>
[TestClass]
public sealed class SetTrainerTests
{
    private static DeepSetsOptions Small(PoolingKind p) => new() { PhiHiddenSizes = new[] { 32 }, LatentDimension = 32, RhoHiddenSizes = new[] { 32 }, EmbeddingDimension = 16, Pooling = p };

    private static (MLContext, IDataView, IDataView) Data(int train = 600, int test = 200)
    {
        var ml = new MLContext(seed: 0);
        return (ml, TestSets.Load(ml, TestSets.Points(train, 21)), TestSets.Load(ml, TestSets.Points(test, 22)));
    }

    [TestMethod]
    public void Regression_EvaluatesWithStandardColumns()
    {
        var (ml, train, test) = Data();
        var model = ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 15, Encoder = Small(PoolingKind.Max), LearningRate = 3e-3 }).Fit(train);
        var m = ml.Regression.Evaluate(model.Transform(test));
        Assert.IsTrue(m.RSquared > 0.8, $"R² = {m.RSquared}");
    }

    [TestMethod]
    public void BinaryClassification_EvaluatesWithStandardColumns()
    {
        var (ml, train, test) = Data();
        var model = ml.BinaryClassification.Trainers.SetClassification("Flag", "Points", 2, new SetModelOptions { Epochs = 15, Encoder = Small(PoolingKind.Sum), LearningRate = 3e-3 }).Fit(train);
        var m = ml.BinaryClassification.Evaluate(model.Transform(test), "Flag");
        Assert.IsTrue(m.Accuracy > 0.85, $"accuracy = {m.Accuracy}");
        Assert.IsTrue(m.AreaUnderRocCurve > 0.9, $"AUC = {m.AreaUnderRocCurve}");
    }

    [TestMethod]
    public void MulticlassClassification_EvaluatesAndMapsKeysBack()
    {
        var (ml, train, test) = Data();
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Category", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Points", 2, new SetModelOptions { Epochs = 25, Encoder = Small(PoolingKind.Sum), LearningRate = 1e-2 }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedCategory", "PredictedLabel"));
        var model = pipeline.Fit(train);
        var scored = model.Transform(test);
        var m = ml.MulticlassClassification.Evaluate(scored);
        Assert.IsTrue(m.MicroAccuracy > 0.8, $"accuracy = {m.MicroAccuracy}");
        var predicted = scored.GetColumn<string>("PredictedCategory").ToArray();
        var truth = scored.GetColumn<string>("Category").ToArray();
        Assert.IsTrue(predicted.Zip(truth).Count(p => p.First == p.Second) > 0.8 * truth.Length);
        CollectionAssert.IsSubsetOf(predicted.Distinct().ToArray(), new[] { "small", "medium", "large" });
    }

    [TestMethod]
    public void PoissonRegression_PredictsCountsAsPoissonMode()
    {
        var ml = new MLContext(0);
        var rows = TestSets.Points(600, 5).Select(r => new PointSetRow { Points = r.Points, Label = r.Points.Length / 2 }).ToList();
        var model = ml.Regression.Trainers.SetPoissonRegression("Label", "Points", 2, new SetModelOptions { Epochs = 20, Encoder = Small(PoolingKind.Sum), LearningRate = 3e-3 })
            .Fit(ml.Data.LoadFromEnumerable(rows));
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows.Take(200)));
        var rate = scored.GetColumn<float>("Score").ToArray();
        var count = scored.GetColumn<float>("PredictedCount").ToArray();
        for (int i = 0; i < rate.Length; i++) Assert.AreEqual(MathF.Floor(rate[i]), count[i]);
        // The Poisson NLL is minimised by λ = E[count]: here the count n is a deterministic function of the set, so λ ≈ n.
        // (Its mode ⌊λ⌋ is then n or n − 1 — the tie the Set Transformer paper's counting accuracies also live with.)
        var labels = rows.Take(200).Select(r => r.Label).ToArray();
        double mae = rate.Zip(labels).Average(p => Math.Abs(p.First - p.Second));
        Assert.IsTrue(mae < 0.3, $"mean |λ − n| = {mae}");
        double withinOne = count.Zip(labels).Count(p => p.Second - p.First is 0 or 1) / (double)labels.Length;
        Assert.IsTrue(withinOne > 0.9, $"mode within one of the count: {withinOne}");
    }

    [TestMethod]
    public void CrossValidate_Works()
    {
        var (ml, train, _) = Data(300, 10);
        var cv = ml.Regression.CrossValidate(train, ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 3, Encoder = Small(PoolingKind.Max) }), numberOfFolds: 3);
        Assert.AreEqual(3, cv.Count);
        Assert.IsTrue(cv.All(f => double.IsFinite(f.Metrics.MeanAbsoluteError)));
    }

    private static Dictionary<string, float[]> Weights(SetModelTransformer t)
        => t.Network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.cpu().data<float>().ToArray());

    [TestMethod]
    public void SameSeed_IdenticalWeights_DifferentSeed_DifferentWeights()
    {
        var (ml, train, _) = Data(200, 10);
        SetModelTransformer Fit(int seed) => ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 2, Seed = seed, Encoder = Small(PoolingKind.Mean), Dropout = 0.1 }).Fit(train);
        var a = Weights(Fit(7)); var b = Weights(Fit(7)); var c = Weights(Fit(8));
        CollectionAssert.AreEquivalent(a.Keys.ToList(), b.Keys.ToList());
        foreach (var k in a.Keys) CollectionAssert.AreEqual(a[k], b[k], $"same seed, {k}");
        Assert.IsTrue(a.Keys.Any(k => !a[k].SequenceEqual(c[k])), "different seeds gave identical weights");
    }

    [TestMethod]
    public void Transform_IsLazy_ReadsRowsOnlyWhenOutputIsRead()
    {
        var (ml, train, test) = Data(100, 70);
        var model = ml.Transforms.DeepSets("E", "Points", 2, "Label", new SetFeaturizerOptions { Epochs = 1 }).Fit(train);
        var counting = new CountingDataView(test);
        var output = model.Transform(counting);
        Assert.AreEqual(0, counting.RowsRead, "Transform must not read rows");
        Assert.AreEqual(70, output.GetColumn<float[]>("E").Count());
        Assert.IsTrue(counting.RowsRead >= 70);
    }

    [TestMethod]
    public void ConcurrentPredictionEngines_MatchSequential()
    {
        var (ml, train, _) = Data(200, 10);
        var model = ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 2, Encoder = Small(PoolingKind.Max) }).Fit(train);
        var rows = TestSets.Points(64, 9);
        var engine = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(model);
        var expected = rows.Select(r => engine.Predict(r).Score).ToArray();
        var results = new float[4][];
        Parallel.For(0, 4, t =>
        {
            var e = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(model);
            results[t] = rows.Select(r => e.Predict(r).Score).ToArray();
        });
        foreach (var r in results) CollectionAssert.AreEqual(expected, r);
        // Concurrent batched cursors over the same transformer.
        var view = model.Transform(ml.Data.LoadFromEnumerable(rows));
        var batched = new float[4][];
        Parallel.For(0, 4, t => batched[t] = view.GetColumn<float>("Score").ToArray());
        foreach (var r in batched) for (int i = 0; i < r.Length; i++) Assert.AreEqual(expected[i], r[i], 1e-5);
    }

    [TestMethod]
    public void ProgressAndMLContextLog_ReceiveEpochs()
    {
        var (ml, train, _) = Data(100, 10);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var reports = new List<TrainingProgress>();
        var progress = new SynchronousProgress(reports.Add);
        ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 3, Progress = progress, ValidationFraction = 0.2 }).Fit(train);
        Assert.AreEqual(3, reports.Count);
        Assert.IsTrue(reports.All(r => r.ValidationLoss.HasValue && double.IsFinite(r.TrainingLoss)));
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, reports.Select(r => r.Epoch).ToArray());
        lock (messages) Assert.IsTrue(messages.Any(m => m.Contains("epoch 3/3")), "MLContext.Log did not receive the epoch lines");
    }

    [TestMethod]
    public void CudaWithoutGpu_ClearError()
    {
        if (torch.cuda.is_available()) { TorchRuntime.Resolve(SetDevice.Cuda); return; }
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => TorchRuntime.Resolve(SetDevice.Cuda));
        StringAssert.Contains(e.Message, "CUDA is not available");
        Assert.AreEqual(torch.CPU.type, TorchRuntime.Resolve(SetDevice.Auto).type);
    }

    [TestMethod]
    public void EarlyStopping_RestoresBestEpochWeights()
    {
        torch.random.manual_seed(0);
        using var model = torch.nn.Linear(2, 1);
        var validation = new Queue<double>(new[] { 1.0, 0.5, 0.7, 0.8, 0.9, 1.0 });
        var snapshots = new List<float[]>();
        var progress = new SynchronousProgress(_ => snapshots.Add(model.weight!.data<float>().ToArray()));
        var x = torch.randn(16, 2);
        var result = TrainingLoop.Run(model, new SetTrainingOptions { Epochs = 6, EarlyStoppingPatience = 2, BatchSize = 4, LearningRate = 0.1, Progress = progress },
            16, idx => model.forward(x[torch.tensor(idx.Select(i => (long)i).ToArray())]).pow(2).mean(), () => validation.Dequeue());
        Assert.AreEqual(4, result.EpochsRun);
        Assert.AreEqual(2, result.BestEpoch);
        CollectionAssert.AreEqual(snapshots[1], model.weight!.data<float>().ToArray());
    }

    [TestMethod]
    public void RepeatedPrediction_DoesNotLeakTensors()
    {
        var (ml, train, test) = Data(100, 100);
        var model = ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 1 }).Fit(train);
        var engine = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(model);
        var row = TestSets.Points(1, 3)[0];
        model.Transform(test).GetColumn<float>("Score").ToArray();
        engine.Predict(row);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++) { model.Transform(test).GetColumn<float>("Score").ToArray(); engine.Predict(row); }
        Assert.AreEqual(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount, "live tensors grew across predictions");
    }

    [TestMethod]
    public void TrainingEpochs_DoNotLeakTensors()
    {
        var (ml, train, _) = Data(64, 10);
        SetRegressionOptions O(int epochs) => new() { Epochs = epochs, BatchSize = 16 };
        long start = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var m1 = ml.Regression.Trainers.DeepSets("Label", "Points", 2, O(1)).Fit(train)) { }
        long afterOne = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var m5 = ml.Regression.Trainers.DeepSets("Label", "Points", 2, O(5)).Fit(train)) { }
        long afterFive = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.AreEqual(afterOne - start, afterFive - afterOne, "live tensors depend on the number of epochs");
    }

    [TestMethod]
    public void FeaturizerWithoutLabel_TrainsAsSetAutoEncoder_AndWrongEncoderTypeIsRejected()
    {
        var (ml, train, test) = Data(50, 10);
        // No label: the encoder is trained inside a set auto-encoder (decoder from the set-prediction models) and kept.
        var featurizer = ml.Transforms.DeepSets("E", "Points", 2, labelColumnName: null, options: new SetFeaturizerOptions { Epochs = 1 }).Fit(train);
        var embeddings = featurizer.Transform(test).GetColumn<float[]>("E").ToArray();
        Assert.AreEqual(10, embeddings.Length);
        Assert.IsTrue(embeddings.All(v => v.Length == new DeepSetsOptions().EmbeddingDimension && v.All(float.IsFinite)));
        var e2 = Assert.ThrowsExactly<ArgumentException>(() => ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Encoder = new UnknownEncoderOptions() }));
        StringAssert.Contains(e2.Message, "DeepSets");
    }

    /// <summary>An encoder type the DeepSets shortcut must refuse.</summary>
    public sealed class UnknownEncoderOptions : SetEncoderOptions
    {
        public override DeepSetsEncoder CreateEncoder(int elementDimension) => new DeepSetsOptions().CreateEncoder(elementDimension);
    }

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    /// <summary>Counts the rows any cursor reads from the wrapped data view.</summary>
    private sealed class CountingDataView(IDataView inner) : IDataView
    {
        public int RowsRead;
        public bool CanShuffle => false;
        public DataViewSchema Schema => inner.Schema;
        public long? GetRowCount() => inner.GetRowCount();
        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new C(this, inner.GetRowCursor(columnsNeeded));
        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => new[] { GetRowCursor(columnsNeeded) };

        private sealed class C(CountingDataView owner, DataViewRowCursor c) : DataViewRowCursor
        {
            public override DataViewSchema Schema => c.Schema;
            public override long Position => c.Position;
            public override long Batch => c.Batch;
            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => c.GetGetter<TValue>(column);
            public override ValueGetter<DataViewRowId> GetIdGetter() => c.GetIdGetter();
            public override bool IsColumnActive(DataViewSchema.Column column) => c.IsColumnActive(column);
            public override bool MoveNext() { bool ok = c.MoveNext(); if (ok) Interlocked.Increment(ref owner.RowsRead); return ok; }
            protected override void Dispose(bool disposing) { if (disposing) c.Dispose(); base.Dispose(disposing); }
        }
    }
}
