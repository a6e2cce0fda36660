using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.Tests.Encoders;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;

namespace SetML.Tests.Scale;

/// <summary>
/// Partial states: parts of a set encoded separately and merged in any tree give the whole-set embedding; the binary
/// form round-trips and rejects corruption; states of different models do not merge.
/// </summary>
[TestClass]
public sealed class PartialStateTests
{
    /// <summary>Every mini-batch consistent encoder: Deep Sets sum/mean/max/min, one-level SSE (each g), hierarchical SSE.</summary>
    internal static IEnumerable<(string Name, SetEncoder Encoder)> MbcEncoders(int d)
    {
        foreach (var g in new[] { PoolingKind.Sum, PoolingKind.Mean, PoolingKind.Max, PoolingKind.Min })
        {
            yield return ($"DeepSets {g}", EncoderChecks.Seeded(4, () => new DeepSetsEncoder(d, new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4, Pooling = g })));
            yield return ($"SSE g={g}", EncoderChecks.Seeded(5, () => new SlotSetEncoder(d, new SlotSetEncoderOptions { PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = 8, SlotCounts = new[] { 4 }, SlotDimension = 8, AttentionDimension = 6, Aggregation = g, SlotInitialization = SlotInitialization.Random, SlotSeed = 3, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 0 })));
        }
        yield return ("hierarchical SSE [5, 2] mean", EncoderChecks.Seeded(6, () => new SlotSetEncoder(d, new SlotSetEncoderOptions { PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = 8, SlotCounts = new[] { 5, 2 }, SlotDimension = 8, AttentionDimension = 6, Aggregation = PoolingKind.Mean, SlotInitialization = SlotInitialization.Random, SlotSeed = 3, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 })));
        yield return ("hierarchical SSE [3, 1] max, deterministic slots", EncoderChecks.Seeded(7, () => new SlotSetEncoder(d, new SlotSetEncoderOptions { PhiHiddenSizes = Array.Empty<int>(), PhiOutputDimension = 0, SlotCounts = new[] { 3, 1 }, SlotDimension = 4, AttentionDimension = 5, Aggregation = PoolingKind.Max, SlotInitialization = SlotInitialization.Deterministic, SlotSeed = 0, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 0 })));
    }

    [TestMethod]
    public void RandomPartitionsAndRandomMergeTrees_EqualTheWholeSetEncoding_ForEveryMbcEncoder()
    {
        const int d = 3;
        var rng = new Random(21);
        var sets = new[] { 30, 1, 0, 17 }.Select(n => TestSets.RandomSet(rng, n, d)).ToArray();
        foreach (var (name, encoder) in MbcEncoders(d))
        {
            using var _e = encoder;
            var full = EncoderChecks.Encode(encoder, sets, d);                    // puts the encoder in eval mode
            var partial = PartialSetEncoder.Create(encoder);
            for (int trial = 0; trial < 10; trial++)
            {
                var states = new List<SetPartialState>();
                foreach (var (x, mask) in StreamingTests.RandomPartition(sets, d, rng))
                {
                    states.Add(partial.EncodePartial(x, mask));
                    x.Dispose(); mask.Dispose();
                }
                if (rng.Next(2) == 0) states.Add(partial.Empty(sets.Length));     // the neutral element
                // A random merge tree: merge two random states (in random order) until one is left.
                while (states.Count > 1)
                {
                    int i = rng.Next(states.Count);
                    var a = states[i]; states.RemoveAt(i);
                    int j = rng.Next(states.Count);
                    var b = states[j]; states.RemoveAt(j);
                    if (rng.Next(3) == 0) b = SetPartialState.FromBytes(b.ToBytes());   // as if it came over the network
                    states.Add(rng.Next(2) == 0 ? SetPartialState.Merge(a, b) : PartialSetEncoder.Merge(b, a));
                }
                Assert.AreEqual(sets.Sum(s => (long)s.Length / d), states[0].ElementCount, name);
                using var y = partial.Finish(states[0]);
                EncoderChecks.AssertRowsClose(full, y, 1e-5, $"{name}, trial {trial}");
            }
        }
    }

    [TestMethod]
    public void OneSetSpanParts_ChunkedInside_MergeTree_EqualTheWholeSet()
    {
        using var encoder = EncoderChecks.Seeded(8, () => new SlotSetEncoder(2, new SlotSetEncoderOptions { PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = 8, SlotCounts = new[] { 4, 1 }, SlotDimension = 8, AttentionDimension = 6, Aggregation = PoolingKind.Sum, SlotInitialization = SlotInitialization.Random, SlotSeed = 1, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 0 }));
        var set = TestSets.RandomSet(new Random(3), 2_000, 2);
        var full = EncoderChecks.Encode(encoder, new[] { set }, 2)[0];
        var partial = PartialSetEncoder.Create(encoder);
        var parts = new List<SetPartialState>();
        for (int start = 0; start < 2_000; start += 300)                           // 7 parts, each encoded 64 elements at a time
            parts.Add(partial.EncodePartial(set.AsSpan(2 * start, 2 * Math.Min(300, 2_000 - start)), chunkElements: 64));
        var merged = SetPartialState.MergeTree(parts);
        Assert.AreEqual(2_000L, merged.ElementCount);
        EncoderChecks.AssertClose(full, partial.FinishVector(merged), 1e-5, "span parts, tree merge");
        EncoderChecks.AssertClose(EncoderChecks.Encode(encoder, new[] { Array.Empty<float>() }, 2)[0], partial.FinishVector(partial.Empty()), 1e-6, "empty");
        Assert.ThrowsExactly<ArgumentException>(() => partial.EncodePartial(new float[3]));
        Assert.ThrowsExactly<ArgumentException>(() => SetPartialState.MergeTree(Array.Empty<SetPartialState>()));
    }

    [TestMethod]
    public void Serialization_RoundTrips_AndRejectsCorruptionTruncationAndNewerVersions()
    {
        using var encoder = EncoderChecks.Seeded(9, () => new DeepSetsEncoder(2, new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 6, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 3, Pooling = PoolingKind.Max }));
        encoder.eval();
        var partial = PartialSetEncoder.Create(encoder);
        var rng = new Random(4);
        var sets = new[] { TestSets.RandomSet(rng, 5, 2), Array.Empty<float>() };
        var (x, mask) = SetML.SetColumns.SetBatch.Pad(sets, 2);
        var state = partial.EncodePartial(x, mask);
        x.Dispose(); mask.Dispose();

        var bytes = state.ToBytes();
        Assert.AreEqual(4 + 4 + 8 + 4 + 4 + 8 * 2 + 8 * 2 + 4 * 2 * 6 + 8, bytes.Length, "compact: header, shape, counts, values, checksum");
        var back = SetPartialState.FromBytes(bytes);
        Assert.AreEqual(state.ModelId, back.ModelId);
        Assert.AreEqual(PoolingKind.Max, back.Aggregation);
        CollectionAssert.AreEqual(state.Shape.ToArray(), back.Shape.ToArray());
        CollectionAssert.AreEqual(new long[] { 5, 0 }, back.ElementCounts.ToArray());
        CollectionAssert.AreEqual(state.Values.ToArray(), back.Values.ToArray());            // includes −∞ of the empty set
        Assert.IsTrue(float.IsNegativeInfinity(back.Values[^1]));
        CollectionAssert.AreEqual(bytes, back.ToBytes());

        var corrupt = (byte[])bytes.Clone(); corrupt[40] ^= 0x10;
        Assert.Contains("checksum", Assert.ThrowsExactly<FormatException>(() => SetPartialState.FromBytes(corrupt)).Message);
        Assert.ThrowsExactly<FormatException>(() => SetPartialState.FromBytes(bytes.AsSpan(0, bytes.Length - 5)));
        var newer = (byte[])bytes.Clone(); newer[4] = 99;
        Assert.Contains("format version 99", Assert.ThrowsExactly<FormatException>(() => SetPartialState.FromBytes(newer)).Message);
        Assert.Contains("not a SetML partial set state", Assert.ThrowsExactly<FormatException>(() => SetPartialState.FromBytes("hello, world, this is text"u8)).Message);
    }

    [TestMethod]
    public void StatesOfDifferentModels_DoNotMerge_AndTrainingModeIsRefused()
    {
        using var a = EncoderChecks.Seeded(1, () => new DeepSetsEncoder(2, new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 6, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 3, Pooling = PoolingKind.Sum }));
        using var b = EncoderChecks.Seeded(2, () => new DeepSetsEncoder(2, new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 6, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 3, Pooling = PoolingKind.Sum }));
        using var sse = EncoderChecks.Seeded(3, () => new SlotSetEncoder(2, new SlotSetEncoderOptions { PhiHiddenSizes = Array.Empty<int>(), PhiOutputDimension = 0, SlotCounts = new[] { 4 }, SlotDimension = 4, AttentionDimension = 4, Aggregation = PoolingKind.Sum, SlotInitialization = SlotInitialization.Random, SlotSeed = 0, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 0 }));
        a.eval(); b.eval(); sse.eval();
        var set = TestSets.RandomSet(new Random(5), 10, 2);
        var pa = PartialSetEncoder.Create(a);
        var pb = PartialSetEncoder.Create(b);
        Assert.AreNotEqual(pa.ModelId, pb.ModelId, "different weights, different identity");
        Assert.AreEqual(pa.ModelId, PartialSetEncoder.Create(a).ModelId, "the identity is a function of the model");
        var sa = pa.EncodePartial(set.AsSpan(0, 10));
        var sb = pb.EncodePartial(set.AsSpan(10));
        var e = Assert.ThrowsExactly<ArgumentException>(() => SetPartialState.Merge(sa, sb));
        Assert.Contains("different models", e.Message);
        Assert.Contains($"{pa.ModelId:x16}", e.Message);
        Assert.Contains("was encoded by model", Assert.ThrowsExactly<ArgumentException>(() => pb.Finish(sa)).Message);

        // Random slots: the identity covers the prediction-time draw (K), not just the weights.
        var before = PartialSetEncoder.Create(sse).ModelId;
        sse.Levels[0].SlotCount = 6;
        Assert.AreNotEqual(before, PartialSetEncoder.Create(sse).ModelId);

        a.train();
        Assert.Contains("training mode", Assert.ThrowsExactly<InvalidOperationException>(() => pa.EncodePartial(set)).Message);
        using var fs = EncoderChecks.Seeded(1, () => new FSPoolEncoder(2, new FSPoolOptions { PhiHiddenSizes = new[] { 4 }, LatentDimension = 4, Pieces = 5, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 3 }));
        Assert.ThrowsExactly<NotSupportedException>(() => PartialSetEncoder.Create(fs));
    }

    [TestMethod]
    public void FromTrainedTransformer_SameIdentityAfterSaveAndLoad_PartsEqualThePrediction()
    {
        var ml = new MLContext(seed: 1);
        var train = TestSets.Load(ml, TestSets.Points(100, 32));
        var small = new SlotSetEncoderOptions { PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = 8, SlotCounts = new[] { 4 }, SlotDimension = 8, AttentionDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 };
        using var model = ml.Transforms.SlotSetEncoder("E", "Points", 2, "Label", new SetFeaturizerOptions { Epochs = 1, Seed = 1, Encoder = small }).Fit(train);
        var set = TestSets.RandomSet(new Random(8), 40, 2);
        var expected = ml.Data.CreateEnumerable<Row>(model.Transform(ml.Data.LoadFromEnumerable(new[] { new PointSetRow { Points = set } })), false).Single().E;

        using var stream = new MemoryStream();
        ml.Model.Save(model, train.Schema, stream);
        stream.Position = 0;
        using var loaded = (SetModelTransformer)ml.Model.Load(stream, out _);
        var here = model.CreatePartialEncoder();
        var there = loaded.CreatePartialEncoder();                                     // another "worker" with the same file
        Assert.AreEqual(here.ModelId, there.ModelId);
        var merged = SetPartialState.Merge(here.EncodePartial(set.AsSpan(0, 30)), SetPartialState.FromBytes(there.EncodePartial(set.AsSpan(30)).ToBytes()));
        EncoderChecks.AssertClose(expected, here.FinishVector(merged), 1e-5, "trained SSE, two parts");
        Assert.Contains("not mini-batch consistent", Assert.ThrowsExactly<InvalidOperationException>(() =>
            ml.Transforms.SetTransformer("E", "Points", 2, "Label", new SetFeaturizerOptions
            {
                Epochs = 1, Seed = 1, Encoder = new SetTransformerOptions { Layers = 1, Width = 8, Heads = 2 },
            }).Fit(train).CreatePartialEncoder()).Message);
    }

    private sealed class Row
    {
        public float[] E { get; set; } = Array.Empty<float>();
    }
}
