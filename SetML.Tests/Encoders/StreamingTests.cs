using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>Mini-batch consistent streaming: any partition of a set encodes to the same embedding as the whole set.</summary>
[TestClass]
public sealed class StreamingTests
{
    private static IEnumerable<(string Name, SetEncoder Encoder)> MbcEncoders()
    {
        foreach (var g in new[] { PoolingKind.Sum, PoolingKind.Mean, PoolingKind.Max, PoolingKind.Min })
        {
            yield return ($"SSE g={g}", EncoderChecks.Seeded(4, () => new SlotSetEncoder(3, new SlotSetEncoderOptions { PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = 8, SlotCounts = new[] { 5, 2 }, SlotDimension = 8, AttentionDimension = 6, Aggregation = g, SlotInitialization = SlotInitialization.Random, SlotSeed = 3, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 })));
            yield return ($"DeepSets {g}", EncoderChecks.Seeded(4, () => new DeepSetsEncoder(3, new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4, Pooling = g })));
        }
    }

    /// <summary>Splits n elements of each of B sets into chunks at random cut points (some chunks give a set nothing).</summary>
    internal static List<(Tensor X, Tensor Mask)> RandomPartition(float[][] sets, int d, Random rng)
    {
        // A random permutation inside each set, then random chunk sizes per set (0 allowed), padded per chunk.
        int chunks = rng.Next(1, 6);
        var pieces = new List<float[]>[chunks];
        for (int c = 0; c < chunks; c++) pieces[c] = new List<float[]>();
        foreach (var set in sets)
        {
            int n = set.Length / d;
            var perm = TestSets.Permute(set, d, TestSets.RandomPermutation(rng, n));
            var cuts = Enumerable.Range(0, chunks - 1).Select(_ => rng.Next(n + 1)).Append(0).Append(n).OrderBy(v => v).ToArray();
            for (int c = 0; c < chunks; c++)
                pieces[c].Add(perm[(cuts[c] * d)..(cuts[c + 1] * d)]);
        }
        return pieces.Select(p => SetBatch.Pad(p, d, minimumLength: rng.Next(0, 3))).ToList();
    }

    [TestMethod]
    public void TwentyRandomPartitions_EqualTheFullEncode_SlotSetEncoderAndDeepSets()
    {
        const int d = 3;
        var rng = new Random(11);
        var sets = new[] { 30, 1, 0, 17 }.Select(n => TestSets.RandomSet(rng, n, d)).ToArray();
        foreach (var (name, encoder) in MbcEncoders())
        {
            using var _e = encoder;
            var full = EncoderChecks.Encode(encoder, sets, d);
            using var stream = StreamingSetEncoder.Create(encoder);
            for (int trial = 0; trial < 20; trial++)
            {
                stream.Start(sets.Length);
                foreach (var (x, mask) in RandomPartition(sets, d, rng))
                {
                    stream.Add(x, mask);
                    x.Dispose(); mask.Dispose();
                }
                Assert.AreEqual(sets.Sum(s => (long)s.Length / d), stream.ElementCount);
                using (var peek = stream.Current())                                    // Current() does not end the stream
                    Assert.IsTrue(stream.IsStarted && peek.isfinite().all().item<bool>());
                using var y = stream.Finish();
                EncoderChecks.AssertRowsClose(full, y, 1e-5, $"{name}, partition {trial}");
            }
        }
    }

    [TestMethod]
    public void SingleSetSpanProtocol_AndEmptyStream()
    {
        using var encoder = EncoderChecks.Seeded(5, () => new SlotSetEncoder(2, new SlotSetEncoderOptions { PhiHiddenSizes = Array.Empty<int>(), PhiOutputDimension = 0, SlotCounts = new[] { 3 }, SlotDimension = 4, AttentionDimension = 4, Aggregation = PoolingKind.Mean, SlotInitialization = SlotInitialization.Random, SlotSeed = 0, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 0 }));
        encoder.eval();
        var set = TestSets.RandomSet(new Random(2), 1000, 2);
        var full = EncoderChecks.Encode(encoder, new[] { set }, 2)[0];
        using var stream = StreamingSetEncoder.Create(encoder);
        Assert.ThrowsExactly<InvalidOperationException>(() => stream.Add(set.AsSpan(0, 2)));
        stream.Start();
        for (int i = 0; i < set.Length; i += 2 * 128) stream.Add(set.AsSpan(i, Math.Min(2 * 128, set.Length - i)));
        Assert.AreEqual(1000L, stream.ElementCount);
        EncoderChecks.AssertClose(full, stream.FinishVector(), 1e-5, "span chunks");
        Assert.IsFalse(stream.IsStarted);

        stream.Start();
        var empty = stream.FinishVector();
        EncoderChecks.AssertClose(EncoderChecks.Encode(encoder, new[] { Array.Empty<float>() }, 2)[0], empty, 1e-6, "empty stream");
        stream.Start();
        Assert.ThrowsExactly<ArgumentException>(() => stream.Add(new float[3]));
    }

    [TestMethod]
    public void NonMbcEncoders_AreRejectedWithAClearError()
    {
        using var fs = EncoderChecks.Seeded(1, () => new FSPoolEncoder(2, new FSPoolOptions { PhiHiddenSizes = new[] { 4 }, LatentDimension = 4, Pieces = 5, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 3 }));
        var e = Assert.ThrowsExactly<NotSupportedException>(() => StreamingSetEncoder.Create(fs));
        Assert.Contains("not mini-batch consistent", e.Message);
        using var eq = EncoderChecks.Seeded(1, () => new EquivariantDeepSetsEncoder(2, new EquivariantDeepSetsOptions { LayerSizes = new[] { 4 }, LayerPooling = PoolingKind.Max, Pooling = PoolingKind.Mean, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 3 }));
        Assert.IsFalse(StreamingSetEncoder.IsSupported(eq));
        Assert.IsFalse(new FSPoolOptions().IsMiniBatchConsistent);
        Assert.IsFalse(new JanossyOptions().IsMiniBatchConsistent);
        Assert.IsFalse(new RelationNetworkOptions().IsMiniBatchConsistent);
        Assert.IsFalse(new AttentionPoolingOptions().IsMiniBatchConsistent);
        Assert.IsFalse(new EquivariantDeepSetsOptions().IsMiniBatchConsistent);
    }

    [TestMethod]
    public void FromTrainedTransformer_StreamsDeepSets_RejectsNonMbc()
    {
        var ml = new MLContext(seed: 1);
        var train = TestSets.Load(ml, TestSets.Points(200, 31));
        var small = new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 4, Pooling = PoolingKind.Mean };
        using var model = ml.Transforms.DeepSets("E", "Points", 2, "Label", new SetFeaturizerOptions { Epochs = 1, Seed = 1, Encoder = small }).Fit(train);
        var set = TestSets.RandomSet(new Random(8), 50, 2);
        var expected = ml.Data.CreateEnumerable<Row>(model.Transform(ml.Data.LoadFromEnumerable(new[] { new PointSetRow { Points = set } })), false).Single().E;
        using var stream = model.CreateStreamingEncoder();
        stream.Start();
        for (int i = 0; i < 50; i += 7) stream.Add(set.AsSpan(2 * i, 2 * Math.Min(7, 50 - i)));
        EncoderChecks.AssertClose(expected, stream.FinishVector(), 1e-5, "trained Deep Sets streamed");

        using var fsModel = ml.Transforms.FSPool("E", "Points", 2, "Label", new SetFeaturizerOptions
        {
            Epochs = 1, Seed = 1, Encoder = new FSPoolOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 4 },
        }).Fit(train);
        var err = Assert.ThrowsExactly<InvalidOperationException>(() => fsModel.CreateStreamingEncoder());
        Assert.Contains("FSPool encoder is not mini-batch consistent", err.Message);
        using var stModel = ml.Transforms.SetTransformer("E", "Points", 2, "Label", new SetFeaturizerOptions
        {
            Epochs = 1, Seed = 1, Encoder = new SetTransformerOptions { Layers = 1, Width = 8, Heads = 2 },
        }).Fit(train);
        var stErr = Assert.ThrowsExactly<InvalidOperationException>(() => stModel.CreateStreamingEncoder());
        Assert.Contains("Set Transformer's self-attention", stErr.Message);
        using var pooling = ml.Transforms.SetPooling("P", "Points", 2, SetPoolingKind.Sum).Fit(train);
        Assert.ThrowsExactly<InvalidOperationException>(() => pooling.CreateStreamingEncoder());
    }

    private sealed class Row
    {
        public float[] E { get; set; } = Array.Empty<float>();
    }
}
