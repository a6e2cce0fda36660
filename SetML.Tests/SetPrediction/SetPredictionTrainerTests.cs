using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.SetColumns;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Tests.SetPrediction;

[TestClass]
public sealed class SetPredictionTrainerTests
{
    public sealed class Row
    {
        [VectorType(4)] public float[] Features { get; set; } = Array.Empty<float>();
        public float[] Label { get; set; } = Array.Empty<float>();
    }

    public sealed class Prediction
    {
        public float[] PredictedSet { get; set; } = Array.Empty<float>();
        public float PredictedSetSize { get; set; }
    }

    // Features (a, b, c, k): the label is k ∈ {1, 2, 3} points on a line through (a, b) with step c.
    private static List<Row> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            float a = (float)rng.NextDouble(), b = (float)rng.NextDouble(), c = (float)rng.NextDouble() * 0.3f;
            int k = rng.Next(1, 4);
            var label = Enumerable.Range(0, k).SelectMany(i => new[] { a + i * c, b - i * c }).ToArray();
            return new Row { Features = new[] { a, b, c, k / 3f }, Label = label };
        }).ToList();
    }

    private static SetPredictionOptions Options(SetDecoderOptions decoder) => new()
    {
        Epochs = 2, BatchSize = 16, LearningRate = 3e-3, Seed = 1, Decoder = decoder,
        InputEncoder = new MlpInputEncoderOptions { HiddenSizes = new[] { 16 } },
    };

    private static IEnumerable<(string Name, Func<MLContext, IEstimator<ITransformer>> Make)> Trainers()
    {
        yield return ("dspn", ml => ml.SetPrediction().Trainers.Dspn("Label", "Features", 2,
            Options(new DspnOptions { LatentDimension = 8, EncoderHiddenSizes = new[] { 16 }, InnerSteps = 3, InnerLearningRate = 10 })));
        yield return ("dspn-initial-set-from-latent", ml => ml.SetPrediction().Trainers.Dspn("Label", "Features", 2,
            Options(new DspnOptions { LatentDimension = 8, EncoderHiddenSizes = new[] { 16 }, InnerSteps = 3, InnerLearningRate = 10,
                InitialSet = Modules.SetPrediction.DspnInitialSet.FromLatent, InitialSetHiddenSizes = new[] { 16 }, LossOnEveryStep = false, Pooling = Modules.SetPrediction.RelaxedPooling.FSPool })));
        yield return ("transformer", ml => ml.SetPrediction().Trainers.TransformerSetPredictor("Label", "Features", 2,
            Options(new TransformerSetPredictorOptions { LatentDimension = 8, ModelDimension = 8, Heads = 2, Layers = 1 })));
        yield return ("transformer-sampled", ml => ml.SetPrediction().Trainers.TransformerSetPredictor("Label", "Features", 2,
            Options(new TransformerSetPredictorOptions { LatentDimension = 8, ModelDimension = 8, Heads = 2, Layers = 1, InitialSet = Modules.SetPrediction.InitialSetKind.Sampled })));
        yield return ("mlp", ml => ml.SetPrediction().Trainers.Mlp("Label", "Features", 2,
            Options(new MlpSetDecoderOptions { LatentDimension = 8, HiddenSizes = new[] { 16 } })));
    }

    [TestMethod]
    public void EachTrainerRoundTripsThroughSaveAndLoadWithIdenticalPredictions()
    {
        foreach (var (name, make) in Trainers())
        {
            var ml = new MLContext(0);
            var train = ml.Data.LoadFromEnumerable(Rows(64, 1));
            var test = ml.Data.LoadFromEnumerable(Rows(20, 2));
            var model = make(ml).Fit(train);
            var scored = model.Transform(test);
            var col = scored.Schema["PredictedSet"];
            Assert.AreEqual(2, SetColumn.GetElementDimension(col), name);
            var before = ml.Data.CreateEnumerable<Prediction>(scored, false).ToList();
            var path = Path.Combine(Path.GetTempPath(), $"setml-setpred-{name}-{Environment.ProcessId}.zip");
            ml.Model.Save(model, train.Schema, path);
            var loaded = ml.Model.Load(path, out _);
            File.Delete(path);
            var after = ml.Data.CreateEnumerable<Prediction>(loaded.Transform(test), false).ToList();
            for (int i = 0; i < before.Count; i++)
            {
                CollectionAssert.AreEqual(before[i].PredictedSet, after[i].PredictedSet, $"{name} row {i}");
                Assert.AreEqual(before[i].PredictedSet.Length / 2, (int)before[i].PredictedSetSize, name);
            }
            var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(loaded);
            // One row alone vs a batch of 20: same model, float rounding of differently blocked matrix products.
            var single = engine.Predict(Rows(20, 2)[0]).PredictedSet;
            Assert.HasCount(before[0].PredictedSet.Length, single, $"{name} prediction engine");
            for (int k = 0; k < single.Length; k++) Assert.AreEqual(before[0].PredictedSet[k], single[k], 1e-4f, $"{name} prediction engine");
            var metrics = ml.SetPrediction().Evaluate(scored);
            Assert.AreEqual(20, metrics.RowCount);
            Assert.HasCount(5, metrics.AveragePrecision);
        }
    }

    [TestMethod]
    public void LabelSetsAreStandardizedForTrainingAndPredictionsComeBackInTheLabelsUnits()
    {
        // The same task with labels in large units (× 100 + 1000): the model stores the label statistics and its
        // predictions land in those units; without the option it stores none. An auto-encoder never standardizes.
        var rows = Rows(96, 4).Select(r => new Row { Features = r.Features, Label = r.Label.Select(v => v * 100 + 1000).ToArray() }).ToList();
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = Options(new MlpSetDecoderOptions { LatentDimension = 8, HiddenSizes = new[] { 16 } });
        options.Epochs = 6;
        var model = ml.SetPrediction().Trainers.Mlp("Label", "Features", 2, options).Fit(data);
        var n = ((SetPredictionModelSpec)model.Spec).LabelNormalization;
        Assert.IsNotNull(n);
        Assert.AreEqual(rows.SelectMany(r => r.Label.Where((_, i) => i % 2 == 0)).Average(), n.Mean[0], 1e-2);
        Assert.IsGreaterThan(10.0, (double)n.Scale[0]);
        var predicted = ml.Data.CreateEnumerable<Prediction>(model.Transform(data), false).SelectMany(p => p.PredictedSet).ToArray();
        Assert.IsNotEmpty(predicted);
        double meanError = predicted.Average(v => Math.Abs(v - 1000));
        Assert.IsLessThan(100.0, meanError, "predictions are in the label's units, around 1000");

        options = Options(new MlpSetDecoderOptions { LatentDimension = 8, HiddenSizes = new[] { 16 } });
        options.NormalizeLabelSets = false;
        Assert.IsNull(((SetPredictionModelSpec)ml.SetPrediction().Trainers.Mlp("Label", "Features", 2, options).Fit(data).Spec).LabelNormalization);
        var auto = ml.SetPrediction().Trainers.Dspn("Label", "Label", 2, Options(new DspnOptions { EncoderHiddenSizes = new[] { 8 }, InnerSteps = 2, InnerLearningRate = 10 })).Fit(data);
        Assert.IsNull(((SetPredictionModelSpec)auto.Spec).LabelNormalization);
    }

    [TestMethod]
    public void LabelStatisticsThatDoNotFitTheElementDimensionFailTheLoad()
    {
        // A model file whose label statistics have one mean too few (checksums valid) is refused at load with a format
        // error naming the rule, instead of mapping predictions back with the wrong feature's statistics.
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(Rows(24, 4));
        var options = Options(new MlpSetDecoderOptions { LatentDimension = 8, HiddenSizes = new[] { 16 } });
        var model = ml.SetPrediction().Trainers.Mlp("Label", "Features", 2, options).Fit(data);
        using var ms = new MemoryStream();
        SetModelTransformer.SpecJsonRewriterForWriting = j =>
        {
            var o = System.Text.Json.Nodes.JsonNode.Parse(j)!.AsObject();
            o["LabelNormalization"]!["Mean"]!.AsArray().RemoveAt(1);
            return o.ToJsonString();
        };
        try { ml.Model.Save(model, data.Schema, ms); }
        finally { SetModelTransformer.SpecJsonRewriterForWriting = null; }
        ms.Position = 0;
        var ex = Assert.Throws<Exception>(() => new MLContext().Model.Load(ms, out _));
        for (; ex != null && ex is not SetMLModelFormatException; ex = ex.InnerException) { }
        Assert.IsNotNull(ex, "a SetML format error");
        StringAssert.Contains(ex.Message, "1 means and 2 scales");
    }

    [TestMethod]
    public void SameSeedGivesIdenticalModels()
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(Rows(48, 3));
        var (_, make) = Trainers().First();
        float[] Predict() => ml.Data.CreateEnumerable<Prediction>(make(ml).Fit(train).Transform(train), false).SelectMany(p => p.PredictedSet.Append(-1f)).ToArray();
        CollectionAssert.AreEqual(Predict(), Predict());
    }

    [TestMethod]
    public void DspnAutoEncoderPredictsSetsFromSets()
    {
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(Rows(48, 4));
        var model = ml.SetPrediction().Trainers.Dspn("Label", "Label", 2, new SetPredictionOptions
        {
            Epochs = 1, BatchSize = 16, Decoder = new DspnOptions { LatentDimension = 8, EncoderHiddenSizes = new[] { 16 }, InnerSteps = 2, PredictionInnerSteps = 4 },
        }).Fit(data);
        var spec = (SetPredictionModelSpec)((SetML.Transforms.SetModelTransformer)model).Spec;
        Assert.AreEqual(ModelInputKind.Set, spec.Inputs[0].Kind);
        Assert.IsNull(spec.SetEncoder, "DSPN auto-encoder shares its g_enc");
        Assert.AreEqual(4, spec.PredictionSteps);
        var preds = ml.Data.CreateEnumerable<Prediction>(model.Transform(data), false).ToList();
        Assert.HasCount(48, preds);
        Assert.IsTrue(preds.All(p => p.PredictedSet.All(float.IsFinite)));
    }

    [TestMethod]
    public void LabelSetsLargerThanTheModelAndWrongDecodersAreRejected()
    {
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(Rows(16, 5));
        var e = Assert.ThrowsExactly<SetColumnException>(() => ml.SetPrediction().Trainers.Mlp("Label", "Features", 2,
            new SetPredictionOptions { Epochs = 1, MaximumSetSize = 1 }).Fit(data));
        Assert.AreEqual("Label", e.ColumnName);
        Assert.AreEqual(SetRule.MaximumSize, e.Rule);
        Assert.ThrowsExactly<ArgumentException>(() => ml.SetPrediction().Trainers.Dspn("Label", "Features", 2,
            new SetPredictionOptions { Decoder = new MlpSetDecoderOptions() }));
    }

    public sealed class SetRow
    {
        public float[] Set { get; set; } = Array.Empty<float>();
    }

    [TestMethod]
    public void UnsupervisedSetFeaturizerTrainsAnAutoEncoderAndKeepsTheEncoder()
    {
        var ml = new MLContext(0);
        var rng = new Random(6);
        var rows = Enumerable.Range(0, 40).Select(_ => new SetRow { Set = Enumerable.Range(0, 2 * rng.Next(1, 5)).Select(_ => (float)rng.NextDouble()).ToArray() }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        foreach (var decoder in new SetDecoderOptions[] { new DspnOptions { EncoderHiddenSizes = new[] { 16 }, InnerSteps = 2 }, new MlpSetDecoderOptions { HiddenSizes = new[] { 16 } } })
        {
            var featurizer = ml.Transforms.DeepSets("Embedding", "Set", 2, labelColumnName: null, new SetAutoEncoderFeaturizerOptions
            {
                Epochs = 1, BatchSize = 8, Decoder = decoder,
                Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 16 }, LatentDimension = 16, RhoHiddenSizes = new[] { 16 }, EmbeddingDimension = 6 },
            }).Fit(data);
            var col = featurizer.Transform(data).Schema["Embedding"];
            Assert.AreEqual(6, ((VectorDataViewType)col.Type).Size, decoder.GetType().Name);
            var spec = (EncoderModelSpec)featurizer.Spec;
            Assert.AreEqual("Embedding", spec.EmbeddingColumnName);
        }
    }
}
