using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Tests.Foundation;
using SetML.Training;

namespace SetML.Tests.Trainers;

/// <summary>
/// Prediction runs without a global lock: threads with one PredictionEngine each over one loaded model must give
/// bit-for-bit the outputs of one thread, also while the model is being saved.
/// </summary>
[TestClass]
public sealed class ConcurrentPredictionTests
{
    private const int Threads = 8;

    private sealed class ClassPrediction
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    private sealed class EmbeddingPrediction
    {
        public float[] E { get; set; } = Array.Empty<float>();
    }

    private sealed class FeatureRow
    {
        [VectorType(4)] public float[] Features { get; set; } = Array.Empty<float>();
        public float[] Label { get; set; } = Array.Empty<float>();
    }

    private sealed class SetPredictionOutput
    {
        public float[] PredictedSet { get; set; } = Array.Empty<float>();
        public float[] PredictedSetScore { get; set; } = Array.Empty<float>();
    }

    private static DeepSetsOptions Small() => new() { PhiHiddenSizes = new[] { 32 }, LatentDimension = 32, RhoHiddenSizes = new[] { 32 }, EmbeddingDimension = 16 };

    /// <summary>Saves and reloads <paramref name="model"/>, so the threads share a loaded model as an application would.</summary>
    private static ITransformer Reload(MLContext ml, ITransformer model, DataViewSchema schema)
    {
        using var ms = new MemoryStream();
        ml.Model.Save(model, schema, ms);
        ms.Position = 0;
        return ml.Model.Load(ms, out _);
    }

    private static byte[] Bits(float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    /// <summary>
    /// Every thread predicts every row with its own engine, starting at a different row so that different rows run
    /// at the same time; the outputs must equal the single-thread ones bitwise.
    /// </summary>
    private static void AssertParallelEqualsSequential<TIn, TOut>(MLContext ml, ITransformer model, IReadOnlyList<TIn> rows, Func<TOut, float[]> output)
        where TIn : class where TOut : class, new()
    {
        var single = ml.Model.CreatePredictionEngine<TIn, TOut>(model);
        var expected = rows.Select(r => Bits(output(single.Predict(r)))).ToArray();
        Assert.IsTrue(expected.Any(e => e.Length > 0), "the model predicts something");
        var results = new byte[Threads][][];
        var errors = new Exception?[Threads];
        using var start = new Barrier(Threads);
        var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var engine = ml.Model.CreatePredictionEngine<TIn, TOut>(model);
            var mine = new byte[rows.Count][];
            start.SignalAndWait();
            try
            {
                for (int pass = 0; pass < 3; pass++)
                    for (int k = 0; k < rows.Count; k++)
                    {
                        int i = (k + t * rows.Count / Threads) % rows.Count;
                        var bits = Bits(output(engine.Predict(rows[i])));
                        if (pass > 0 && !bits.AsSpan().SequenceEqual(mine[i])) throw new InvalidOperationException($"thread {t} row {i}: pass {pass} differs");
                        mine[i] = bits;
                    }
                results[t] = mine;
            }
            catch (Exception e) { errors[t] = e; }   // an exception escaping a thread would end the test host
        })).ToList();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        for (int t = 0; t < Threads; t++)
        {
            Assert.IsNull(errors[t], $"thread {t}: {errors[t]}");
            for (int i = 0; i < rows.Count; i++)
                CollectionAssert.AreEqual(expected[i], results[t][i], $"thread {t}, row {i}");
        }
    }

    [TestMethod]
    public void EightEngines_DeepSetsClassifier_BitwiseEqualToOneThread()
    {
        var ml = new MLContext(0);
        var rows = TestSets.Points(200, 31);
        var train = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.Conversion.MapValueToKey("Label", nameof(PointSetRow.Category))
            .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Points", 2, new SetModelOptions { Epochs = 2, Encoder = Small(), Seed = 1 }))
            .Fit(train);
        AssertParallelEqualsSequential<PointSetRow, ClassPrediction>(ml, Reload(ml, model, train.Schema), TestSets.Points(40, 32), p => p.Score);
    }

    [TestMethod]
    public void EightEngines_SetTransformer_BitwiseEqualToOneThread()
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(TestSets.Points(150, 33));
        var model = ml.Transforms.SetTransformer("E", "Points", 2, "Label", new SetFeaturizerOptions
        {
            Epochs = 1, Seed = 1, Encoder = new SetTransformerOptions { Layers = 1, Width = 8, Heads = 2 },
        }).Fit(train);
        AssertParallelEqualsSequential<PointSetRow, EmbeddingPrediction>(ml, Reload(ml, model, train.Schema), TestSets.Points(40, 34), p => p.E);
    }

    [TestMethod]
    public void EightEngines_DspnSetPrediction_BitwiseEqualToOneThread()
    {
        // DSPN predicts with an inner gradient-descent loop (autograd under enable_grad inside no_grad) on every call.
        var ml = new MLContext(0);
        var rng = new Random(35);
        FeatureRow Row()
        {
            float a = (float)rng.NextDouble(), b = (float)rng.NextDouble();
            int k = rng.Next(1, 4);
            return new FeatureRow { Features = new[] { a, b, 0.1f, k / 3f }, Label = Enumerable.Range(0, k).SelectMany(i => new[] { a + 0.1f * i, b }).ToArray() };
        }
        var train = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 64).Select(_ => Row()).ToList());
        var model = ml.SetPrediction().Trainers.Dspn("Label", "Features", 2, new SetPredictionOptions
        {
            Epochs = 2, BatchSize = 16, LearningRate = 3e-3, Seed = 1,
            InputEncoder = new MlpInputEncoderOptions { HiddenSizes = new[] { 16 } },
            Decoder = new DspnOptions { LatentDimension = 8, EncoderHiddenSizes = new[] { 16 }, InnerSteps = 3, InnerLearningRate = 10 },
        }).Fit(train);
        var test = Enumerable.Range(0, 30).Select(_ => Row()).ToList();
        AssertParallelEqualsSequential<FeatureRow, SetPredictionOutput>(ml, Reload(ml, model, train.Schema), test,
            p => p.PredictedSet.Concat(p.PredictedSetScore).Append(p.PredictedSet.Length).ToArray());
    }

    [TestMethod]
    public void SavingWhileOtherThreadsPredict_IsSafeAndSavesTheSameModel()
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(TestSets.Points(150, 36));
        var model = Reload(ml, ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 2, Encoder = Small(), Seed = 1 }).Fit(train), train.Schema);
        var rows = TestSets.Points(30, 37);
        var single = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(model);
        var expected = rows.Select(r => single.Predict(r).Score).ToArray();

        using var stop = new CancellationTokenSource();
        var mismatches = 0;
        var predicted = 0L;
        var predictors = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var engine = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(model);
            for (int k = 0; !stop.IsCancellationRequested || k < rows.Count; k++)
            {
                int i = (k + t * 7) % rows.Count;
                if (BitConverter.SingleToInt32Bits(engine.Predict(rows[i]).Score) != BitConverter.SingleToInt32Bits(expected[i])) Interlocked.Increment(ref mismatches);
                Interlocked.Increment(ref predicted);
            }
        })).ToArray();
        var saved = new List<byte[]>();
        for (int s = 0; s < 3; s++)
        {
            using var ms = new MemoryStream();
            ml.Model.Save(model, train.Schema, ms);
            saved.Add(ms.ToArray());
        }
        stop.Cancel();
        Task.WaitAll(predictors);
        Assert.AreEqual(0, mismatches, $"{mismatches} of {predicted} concurrent predictions differed from the single-thread ones");
        foreach (var bytes in saved)
        {
            var loaded = ml.Model.Load(new MemoryStream(bytes), out _);
            var engine = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(loaded);
            for (int i = 0; i < rows.Count; i++)
                Assert.AreEqual(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(engine.Predict(rows[i]).Score), $"row {i} of a model saved during predictions");
        }
    }
}
