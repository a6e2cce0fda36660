using Microsoft.ML;
using SetML.Models;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Tests.Encoders;

/// <summary>
/// Adding an encoder is one class file: <see cref="MeanPoolEncoder"/> (module and options in SetML.Tests/Encoders/MeanPoolEncoder.cs,
/// registered nowhere) trains through the ordinary set trainer, is saved with its stable name and loads to bitwise the
/// same predictions; <see cref="AllEncodersTests"/> runs the shared checks on it because it finds it by reflection.
/// </summary>
[TestClass]
public sealed class AddingAnEncoderTests
{
    private sealed class Prediction { public float Score { get; set; } }

    [TestMethod]
    public void MeanPoolEncoderFromOneTestFile_TrainsWithTheRegressionTrainer_SavesAndLoadsBitwise()
    {
        var ml = new MLContext(seed: 0);
        var rows = TestSets.Points(48, seed: 21, maxN: 6);
        var train = TestSets.Load(ml, rows);
        var options = new SetRegressionOptions { Encoder = new MeanPoolOptions { EmbeddingDimension = 3 }, Epochs = 3, BatchSize = 8, Seed = 2 };
        var model = ml.Regression.Trainers.SetRegression("Label", "Points", 2, options).Fit(train);
        StringAssert.Contains(SpecJson.Serialize<ModelSpec>(model.Spec), "\"$type\":\"test.mean-pool\"", "the spec is saved under the encoder's stable name");
        Assert.IsInstanceOfType<MeanPoolEncoder>(((Modules.EncoderHeadNetwork)model.Network).Encoder);

        var before = ml.Data.CreateEnumerable<Prediction>(model.Transform(train), reuseRowObject: false).Select(p => p.Score).ToArray();
        Assert.IsTrue(before.All(float.IsFinite) && before.Distinct().Count() > 1, "the trained model gives finite, input-dependent scores");
        using var ms = new MemoryStream();
        ml.Model.Save(model, train.Schema, ms);
        ms.Position = 0;
        var loaded = new MLContext(seed: 1).Model.Load(ms, out _);
        var after = ml.Data.CreateEnumerable<Prediction>(loaded.Transform(train), reuseRowObject: false).Select(p => p.Score).ToArray();
        CollectionAssert.AreEqual(before, after, "predictions after save/load must be bitwise equal");

        // Streaming works because the encoder implements the streaming interface: the whole set chunk by chunk = at once.
        var featurizer = ml.Transforms.SetEncoder("Embedding", "Points", 2, "Label",
            new SetFeaturizerOptions { Encoder = new MeanPoolOptions(), Epochs = 1, Seed = 2 }).Fit(train);
        using var stream = featurizer.CreateStreamingEncoder();
        stream.Start();
        stream.Add(rows[0].Points.AsSpan(0, 2));
        stream.Add(rows[0].Points.AsSpan(2));
        var chunked = stream.FinishVector();
        var whole = AllEncodersTests.Embeddings(ml, featurizer.Transform(TestSets.Load(ml, rows.Take(1))))[0];
        EncoderChecks.AssertClose(whole, chunked, 1e-6, "mean-pool streaming");
        (loaded as IDisposable)?.Dispose();
        model.Dispose();
        featurizer.Dispose();
    }
}
