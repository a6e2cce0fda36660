using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.Tests.Foundation;
using SetML.Transforms;

namespace SetML.Tests.Api;

/// <summary>
/// The simple-arguments featurizer overloads (<c>mlContext.Transforms.FSPool(…, pieces: 7)</c>): an encoder argument reaches
/// the trained model and its saved specification; the encoder settings not given keep their options defaults.
/// </summary>
[TestClass]
public sealed class SimpleArgumentsTests
{
    [TestMethod]
    public void FSPoolPieces_ReachesTheSavedModel_OtherSettingsKeepTheirDefaults()
    {
        var ml = new MLContext(seed: 0);
        var train = TestSets.Load(ml, TestSets.Points(16, seed: 5, maxN: 5));
        using var model = ml.Transforms.FSPool("E", "Points", 2, "Label", epochs: 1, batchSize: 8, pieces: 7).Fit(train);
        using var ms = new MemoryStream();
        ml.Model.Save(model, train.Schema, ms);
        ms.Position = 0;
        using var loaded = (SetModelTransformer)new MLContext(seed: 1).Model.Load(ms, out _);
        var encoder = (FSPoolOptions)((EncoderModelSpec)loaded.Spec).Encoder;
        Assert.AreEqual(7, encoder.Pieces, "pieces: 7 is the saved encoder's Pieces");
        var defaults = new FSPoolOptions();
        Assert.AreEqual(defaults.LatentDimension, encoder.LatentDimension);
        Assert.AreEqual(defaults.EmbeddingDimension, encoder.EmbeddingDimension);
        CollectionAssert.AreEqual(defaults.PhiHiddenSizes, encoder.PhiHiddenSizes);
    }

    [TestMethod]
    public void EncoderArguments_SetTheirOptions_AndNullKeepsTheDefault()
    {
        var ml = new MLContext(seed: 0);
        var train = TestSets.Load(ml, TestSets.Points(12, seed: 6, maxN: 4));
        T Encoder<T>(SetFeaturizerEstimator estimator) where T : SetEncoderOptions
        {
            using var model = estimator.Fit(train);
            return (T)((EncoderModelSpec)model.Spec).Encoder;
        }

        var janossy = Encoder<JanossyOptions>(ml.Transforms.Janossy("E", "Points", 2, "Label", epochs: 1, tupleSize: 1));
        Assert.AreEqual((JanossyMode.KAry, 1), (janossy.Mode, janossy.TupleSize), "a tuple size selects k-ary pooling");
        var piSgd = Encoder<JanossyOptions>(ml.Transforms.Janossy("E", "Points", 2, "Label", epochs: 1));
        Assert.AreEqual(new JanossyOptions().Mode, piSgd.Mode, "no argument: the options default");

        var isab = Encoder<SetTransformerOptions>(ml.Transforms.SetTransformer("E", "Points", 2, "Label", epochs: 1, inducingPoints: 3, seeds: 2));
        Assert.AreEqual((true, 3, 2), (isab.UseInducedPoints, isab.InducingPoints, isab.Seeds));

        var sse = Encoder<SlotSetEncoderOptions>(ml.Transforms.SlotSetEncoder("E", "Points", 2, "Label", epochs: 1, slots: 3));
        CollectionAssert.AreEqual(new[] { 3 }, sse.SlotCounts);

        var ds = Encoder<DeepSetsOptions>(ml.Transforms.DeepSets("E", "Points", 2, "Label", epochs: 1, pooling: PoolingKind.Max));
        Assert.AreEqual(PoolingKind.Max, ds.Pooling);
        var any = Encoder<RelationNetworkOptions>(ml.Transforms.SetEncoder("E", "Points", 2, "Label", epochs: 1,
            encoder: new RelationNetworkOptions { PairPooling = PoolingKind.Mean }));
        Assert.AreEqual(PoolingKind.Mean, any.PairPooling);
    }
}
