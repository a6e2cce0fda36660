using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules.SetPrediction;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.SetPrediction;

/// <summary>The spatial image encoder (<see cref="ImageEncoderOptions"/>, <see cref="ImageEncoder"/>) of set prediction from images.</summary>
[TestClass]
public sealed class ImageEncoderTests
{
    private const int Side = 8;

    public sealed class ImageRow
    {
        [VectorType(3 * Side * Side)] public float[] Features { get; set; } = Array.Empty<float>();
        public float[] Boxes { get; set; } = Array.Empty<float>();
    }

    public sealed class Prediction
    {
        public float[] PredictedSet { get; set; } = Array.Empty<float>();
        public float[] PredictedSetScore { get; set; } = Array.Empty<float>();
    }

    private static ImageEncoderOptions Small(ImageEncoderHead head = ImageEncoderHead.Flatten, ImageNormalization normalization = ImageNormalization.GroupNorm) => new()
    {
        Normalization = normalization,
        Height = Side, Width = Side, StemChannels = 8, StageChannels = new[] { 8, 16 }, HeadHiddenSizes = new[] { 8 }, Head = head,
    };

    // One bright square (side 3) on a grey background per image in planar RGB; its box is the label. (On an exactly black
    // background libtorch's CPU convolutions returned non-finite gradients in some runs: see docs/set-prediction.md.)
    private static List<ImageRow> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<ImageRow>();
        for (int i = 0; i < count; i++)
        {
            int x0 = rng.Next(0, Side - 3), y0 = rng.Next(0, Side - 3);
            var pixels = Enumerable.Repeat(0.2f, 3 * Side * Side).ToArray();
            for (int c = 0; c < 3; c++)
                for (int y = y0; y < y0 + 3; y++)
                    for (int x = x0; x < x0 + 3; x++) pixels[c * Side * Side + y * Side + x] = 1;
            rows.Add(new ImageRow { Features = pixels, Boxes = new[] { x0 / (float)Side, y0 / (float)Side, (x0 + 3) / (float)Side, (y0 + 3) / (float)Side } });
        }
        return rows;
    }

    [TestMethod]
    public void EveryHeadMapsPixelsToZAndKeepsTheMapSize()
    {
        torch.manual_seed(0);
        foreach (var head in Enum.GetValues<ImageEncoderHead>())
        {
            using var encoder = (ImageEncoder)Small(head).CreateEncoder(3 * Side * Side, 5);
            Assert.AreEqual((16, 2, 2), encoder.FeatureMapShape, $"{head}: two stages halve 8×8 twice");
            using var x = torch.rand(3, 3 * Side * Side);
            using var z = encoder.forward(x);
            CollectionAssert.AreEqual(new long[] { 3, 5 }, z.shape, head.ToString());
            Assert.IsTrue(z.isfinite().all().item<bool>(), head.ToString());
        }
        // Odd sizes round up like the convolutions do; no stem is allowed when there is a stage.
        using var odd = (ImageEncoder)new ImageEncoderOptions { Channels = 1, Height = 7, Width = 5, StemChannels = 0, StageChannels = new[] { 3 } }.CreateEncoder(35, 2);
        Assert.AreEqual((3, 4, 3), odd.FeatureMapShape);
    }

    [TestMethod]
    public void RowsAreEncodedIndependentlyOfTheBatchAndItsOrder()
    {
        // GroupNorm normalizes within an image: a row's z does not depend on the other rows or on their order, so training
        // batches, prediction batches and a single prediction compute the same function (BatchNorm would not).
        torch.manual_seed(1);
        using var encoder = (ImageEncoder)Small().CreateEncoder(3 * Side * Side, 6);
        encoder.eval();
        using var x = torch.rand(5, 3 * Side * Side);
        using var z = encoder.forward(x);
        using var permutation = torch.tensor(new long[] { 3, 0, 4, 1, 2 });
        using var permuted = encoder.forward(x.index_select(0, permutation));
        Assert.IsTrue(permuted.allclose(z.index_select(0, permutation), rtol: 1e-5, atol: 1e-6), "permuting the batch permutes the encodings");
        using var alone = encoder.forward(x.narrow(0, 2, 1));
        Assert.IsTrue(alone.allclose(z.narrow(0, 2, 1), rtol: 1e-5, atol: 1e-6), "a row alone = the same row in a batch");
    }

    [TestMethod]
    public void BadImagesAndOptionsAreRejectedWithTheRuleNamed()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => Small().CreateEncoder(3 * Side * Side + 1, 4));
        StringAssert.Contains(ex.Message, "Channels·Height·Width");
        using var encoder = (ImageEncoder)Small().CreateEncoder(3 * Side * Side, 4);
        using var wrong = torch.zeros(2, 10);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => encoder.forward(wrong)).Message, "[batch, 3·8·8 = 192]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new ImageEncoderOptions { StageChannels = new[] { 4, 0 } }.CreateEncoder(3 * 64 * 64, 4)).Message, "StageChannels");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageEncoderOptions { ConvolutionsPerStage = 0 }.CreateEncoder(3 * 64 * 64, 4)).Message, "ConvolutionsPerStage");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new ImageEncoderOptions { StemChannels = 0, StageChannels = Array.Empty<int>() }.CreateEncoder(3 * 64 * 64, 4)).Message, "at least one convolution");

        // Through ML.NET: a pixel vector that does not match the options fails before training, naming the sizes.
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(Rows(8, 1));
        var options = new SetPredictionOptions { Epochs = 1, MaximumSetSize = 1, InputEncoder = new ImageEncoderOptions { Height = 16, Width = 16 } };
        var fit = Assert.Throws<ArgumentException>(() => ml.SetPrediction().Trainers.Mlp("Boxes", "Features", 4, options).Fit(data));
        StringAssert.Contains(fit.Message, "192 values");
    }

    [TestMethod]
    public void DspnAndMlpWithTheImageEncoderSaveAndLoadBitwise()
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(Rows(32, 2));
        var test = ml.Data.LoadFromEnumerable(Rows(8, 3));
        SetPredictionOptions Options(SetDecoderOptions decoder) => new()
        {
            Epochs = 2, BatchSize = 8, Seed = 1, MaximumSetSize = 2, InputEncoder = new ImageEncoderOptions { Height = Side, Width = Side, StemChannels = 0, ConvolutionsPerStage = 1, StageChannels = new[] { 8, 16 }, HeadHiddenSizes = new[] { 8 } }, Decoder = decoder,
        };
        var trainers = new (string Name, IEstimator<ITransformer> Trainer)[]
        {
            ("dspn", ml.SetPrediction().Trainers.Dspn("Boxes", "Features", 4, Options(new DspnOptions { LatentDimension = 8, EncoderHiddenSizes = new[] { 8 }, InnerSteps = 2 }))),
            ("mlp", ml.SetPrediction().Trainers.Mlp("Boxes", "Features", 4, Options(new MlpSetDecoderOptions { LatentDimension = 8, HiddenSizes = new[] { 8 } }))),
        };
        foreach (var (name, trainer) in trainers)
        {
            var model = (SetML.Transforms.SetModelTransformer)trainer.Fit(train);
            var spec = (SetPredictionModelSpec)model.Spec;
            var encoderOptions = (ImageEncoderOptions)spec.InputEncoder!;
            Assert.AreEqual(ImageEncoderHead.Flatten, encoderOptions.Head, name);
            CollectionAssert.AreEqual(new[] { 8, 16 }, encoderOptions.StageChannels, name);
            spec.PresenceThreshold = 0;   // every slot with its presence: the ranking object-detection AP reads
            var before = ml.Data.CreateEnumerable<Prediction>(model.Transform(test), false).ToList();
            var path = Path.Combine(Path.GetTempPath(), $"setml-image-encoder-{name}-{Environment.ProcessId}.zip");
            ml.Model.Save(model, train.Schema, path);
            var loaded = (SetML.Transforms.SetModelTransformer)ml.Model.Load(path, out _);
            File.Delete(path);
            var loadedSpec = (SetPredictionModelSpec)loaded.Spec;
            Assert.AreEqual(0, loadedSpec.PresenceThreshold, name);
            Assert.AreEqual(1, ((ImageEncoderOptions)loadedSpec.InputEncoder!).ConvolutionsPerStage, name);
            var after = ml.Data.CreateEnumerable<Prediction>(loaded.Transform(test), false).ToList();
            for (int i = 0; i < before.Count; i++)
            {
                Assert.AreEqual(2 * 4, before[i].PredictedSet.Length, $"{name} row {i}: threshold 0 outputs all N = 2 slots");
                CollectionAssert.AreEqual(before[i].PredictedSet, after[i].PredictedSet, $"{name} row {i}: bitwise after reload");
                CollectionAssert.AreEqual(before[i].PredictedSetScore, after[i].PredictedSetScore, $"{name} row {i}");
            }
            model.Dispose();
            loaded.Dispose();
        }
    }
}
