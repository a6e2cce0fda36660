using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Foundation;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>Slot Set Encoder (Andreis et al. 2021): fixture, invariances, slots, hierarchy, featurizer persistence.</summary>
[TestClass]
public sealed class SlotSetEncoderTests
{
    private static SlotSetEncoder Create(PoolingKind g, SlotInitialization init, int[]? slotCounts = null, int phi = 8, int seed = 1, bool outputLayerNorm = true)
        => EncoderChecks.Seeded(seed, () => new SlotSetEncoder(3, new SlotSetEncoderOptions { PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = phi, SlotCounts = slotCounts ?? new[] { 4 }, SlotDimension = 8, AttentionDimension = 6, Aggregation = g, SlotInitialization = init, SlotSeed = 7, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 5, OutputLayerNorm = outputLayerNorm }));

    [TestMethod]
    public void MatchesPyTorchFixture_AllAggregations()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(EncoderChecks.FixturePath("sse_fspool_fixture.json")));
        int cases = 0;
        foreach (var c in doc.RootElement.GetProperty("sse").EnumerateArray())
        {
            var g = Enum.Parse<PoolingKind>(c.GetProperty("aggregation").GetString()!);
            int d = c.GetProperty("inputDimension").GetInt32();
            using var layer = new SlotSetEncoderLayer(d, c.GetProperty("slotCount").GetInt32(), c.GetProperty("slotDimension").GetInt32(),
                c.GetProperty("attentionDimension").GetInt32(), g, SlotInitialization.Deterministic);
            LoadParameters(layer, c.GetProperty("parameters"));
            var sets = c.GetProperty("sets").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
            var expected = c.GetProperty("expected").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
            var actual = EncoderChecks.Encode(layer, sets, d, minimumLength: 11);       // ragged, padded batch
            for (int i = 0; i < sets.Count; i++)
                EncoderChecks.AssertClose(expected[i], actual[i], 1e-5, $"SSE g={g}, set {i}");
            cases++;
        }
        Assert.AreEqual(4, cases);
    }

    internal static void LoadParameters(nn.Module module, JsonElement parameters)
    {
        var own = module.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var p in parameters.EnumerateObject())
        {
            Assert.IsTrue(own.ContainsKey(p.Name), $"the module has no parameter '{p.Name}' (has {string.Join(", ", own.Keys)})");
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
            var data = p.Value.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            using var _ = torch.no_grad();
            own[p.Name].copy_(torch.tensor(data, shape));
        }
    }

    [TestMethod]
    public void InvariantPaddingSafeAndFinite_EveryAggregationAndInitialization()
    {
        foreach (var g in new[] { PoolingKind.Sum, PoolingKind.Mean, PoolingKind.Max, PoolingKind.Min })
            foreach (var init in new[] { SlotInitialization.Random, SlotInitialization.Deterministic })
            {
                using var e = Create(g, init);
                EncoderChecks.All(e);
            }
        using var hierarchical = Create(PoolingKind.Mean, SlotInitialization.Random, new[] { 6, 3, 1 });
        EncoderChecks.All(hierarchical);
        using var raw = Create(PoolingKind.Sum, SlotInitialization.Random, phi: 0);       // no φ: SSE on the raw elements
        EncoderChecks.All(raw);
        foreach (var g in new[] { PoolingKind.Sum, PoolingKind.Max })                      // the paper's Algorithm 2 exactly
        {
            using var plain = Create(g, SlotInitialization.Random, new[] { 4, 2 }, outputLayerNorm: false);
            EncoderChecks.All(plain);
        }
    }

    [TestMethod]
    public void OutputLayerNorm_NormalisesEachMergedSlot_AndOldSpecsLoadWithout()
    {
        using var layer = EncoderChecks.Seeded(2, () => new SlotSetEncoderLayer(3, 4, 8, 6, PoolingKind.Sum, SlotInitialization.Deterministic, outputLayerNorm: true));
        using var plain = EncoderChecks.Seeded(2, () => new SlotSetEncoderLayer(3, 4, 8, 6, PoolingKind.Sum, SlotInitialization.Deterministic));
        Assert.IsTrue(layer.OutputLayerNorm);
        Assert.IsFalse(plain.OutputLayerNorm);
        layer.eval(); plain.eval();
        using var _ = torch.no_grad();
        using var x = torch.randn(2, 9, 3);
        using var mask = torch.ones(2, 9, dtype: ScalarType.Bool);
        using var normalised = layer.forward(x, mask);
        using var raw = plain.forward(x, mask);                      // same seed → same q, k, v; the LayerNorm adds no draw
        using var mean = normalised.mean(new long[] { -1 });
        using var std = normalised.std(-1, unbiased: false);
        Assert.IsTrue(mean.abs().max().item<float>() < 1e-5, "each slot has mean 0 over d̂");
        Assert.IsTrue(std.SubScalar(1.0).abs().max().item<float>() < 1e-3, "each slot has unit variance over d̂");
        using var expected = nn.functional.layer_norm(raw, new long[] { 6 });
        Assert.IsTrue(expected.sub(normalised).abs().max().item<float>() < 1e-5, "the LayerNorm of the paper's slots");

        var options = new SlotSetEncoderOptions();
        Assert.IsTrue(options.OutputLayerNorm, "new encoders normalise their output slots");
        var json = SpecJson.Serialize<SetEncoderOptions>(options);
        StringAssert.Contains(json, "\"$version\":2");
        Assert.IsTrue(((SlotSetEncoderOptions)SpecJson.Deserialize<SetEncoderOptions>(json)).OutputLayerNorm);
        // A spec saved by SetML before the option existed (component version 1, no member) keeps the paper's plain slots.
        var v1 = json.Replace("\"$version\":2", "\"$version\":1").Replace(",\"OutputLayerNorm\":true", "");
        Assert.AreNotEqual(json, v1);
        Assert.IsFalse(((SlotSetEncoderOptions)SpecJson.Deserialize<SetEncoderOptions>(v1)).OutputLayerNorm);
    }

    [TestMethod]
    public void RandomSlots_FixedAtPrediction_FreshInTraining()
    {
        using var a = Create(PoolingKind.Sum, SlotInitialization.Random);
        using var b = Create(PoolingKind.Sum, SlotInitialization.Random);               // same seed → same weights
        var set = TestSets.RandomSet(new Random(5), 6, 3);
        var ya = EncoderChecks.Encode(a, new[] { set }, 3)[0];
        CollectionAssert.AreEqual(ya, EncoderChecks.Encode(a, new[] { set }, 3)[0], "two predictions differ");
        CollectionAssert.AreEqual(ya, EncoderChecks.Encode(b, new[] { set }, 3)[0], "same seed, different predictions");

        a.train();
        using var _ = torch.no_grad();
        using var s1 = a.Levels[0].SampleSlots(2);
        using var s2 = a.Levels[0].SampleSlots(2);
        Assert.IsTrue(s1.sub(s2).abs().max().item<float>() > 1e-3, "training draws fresh slots");
        Assert.IsTrue(s1[0].sub(s1[1]).abs().max().item<float>() > 1e-3, "training draws slots per set");
        a.eval();
        using var e1 = a.Levels[0].SampleSlots(2);
        Assert.AreEqual(0f, e1[0].sub(e1[1]).abs().max().item<float>(), "prediction uses one draw for every set");
    }

    [TestMethod]
    public void SlotCount_CanChangeBelowTheLastLevel_OnlyForRandomSlots()
    {
        using var e = Create(PoolingKind.Mean, SlotInitialization.Random, new[] { 4, 1 });
        var set = TestSets.RandomSet(new Random(6), 5, 3);
        var before = EncoderChecks.Encode(e, new[] { set }, 3)[0];
        e.SetSlotCount(0, 12);
        Assert.AreEqual(12, e.Levels[0].SlotCount);
        var after = EncoderChecks.Encode(e, new[] { set }, 3)[0];
        Assert.AreEqual(before.Length, after.Length);
        Assert.IsTrue(after.All(float.IsFinite));
        Assert.IsTrue(before.Zip(after).Any(p => Math.Abs(p.First - p.Second) > 1e-6), "more slots change the embedding");
        EncoderChecks.All(e);
        Assert.ThrowsExactly<InvalidOperationException>(() => e.SetSlotCount(1, 2));
        using var det = Create(PoolingKind.Sum, SlotInitialization.Deterministic, new[] { 4, 1 });
        Assert.ThrowsExactly<InvalidOperationException>(() => det.SetSlotCount(0, 5));
    }

    [TestMethod]
    public void Options_EmbeddingDimensionIsCheapAndRight_AndMbc()
    {
        var o = new SlotSetEncoderOptions { SlotCounts = new[] { 5, 2 }, AttentionDimension = 7, EmbeddingDimension = 0, PhiHiddenSizes = new[] { 4 }, PhiOutputDimension = 4, SlotDimension = 4 };
        Assert.AreEqual(14, o.CreateEmbeddingDimension(3));
        using (var e = o.CreateEncoder(3)) Assert.AreEqual(14, e.OutputDimension);
        o.EmbeddingDimension = 9;
        Assert.AreEqual(9, o.CreateEmbeddingDimension(3));
        Assert.IsTrue(o.IsMiniBatchConsistent);
        Assert.ThrowsExactly<ArgumentException>(() => new SlotSetEncoderOptions { SlotCounts = Array.Empty<int>() }.CreateEncoder(2));
        var json = SpecJson.Serialize<SetEncoderOptions>(o);
        Assert.IsInstanceOfType<SlotSetEncoderOptions>(SpecJson.Deserialize<SetEncoderOptions>(json));
    }

    [TestMethod]
    public void Featurizer_TrainsAndRoundTripsSaveLoad()
    {
        var ml = new MLContext(seed: 1);
        var train = TestSets.Load(ml, TestSets.Points(300, 21));
        var est = ml.Transforms.SlotSetEncoder("Embedding", "Points", 2, "Label", new SetFeaturizerOptions
        {
            Epochs = 2, BatchSize = 32, Seed = 3,
            Encoder = new SlotSetEncoderOptions { PhiHiddenSizes = new[] { 16 }, PhiOutputDimension = 16, SlotCounts = new[] { 4, 1 }, SlotDimension = 8, AttentionDimension = 8, RhoHiddenSizes = new[] { 16 }, EmbeddingDimension = 6 },
        });
        using var model = est.Fit(train);
        var test = TestSets.Load(ml, TestSets.Points(40, 22).Append(new PointSetRow()));
        var before = ml.Data.CreateEnumerable<EmbeddingRow>(model.Transform(test), false).Select(r => r.Embedding).ToList();
        Assert.IsTrue(before.All(r => r.Length == 6 && r.All(float.IsFinite)));
        var path = Path.Combine(Path.GetTempPath(), $"setml-sse-{Environment.ProcessId}.zip");
        try
        {
            ml.Model.Save(model, train.Schema, path);
            var loaded = new MLContext(seed: 9).Model.Load(path, out _);
            var after = ml.Data.CreateEnumerable<EmbeddingRow>(loaded.Transform(test), false).Select(r => r.Embedding).ToList();
            for (int i = 0; i < before.Count; i++) CollectionAssert.AreEqual(before[i], after[i], $"row {i}");
            (loaded as IDisposable)?.Dispose();
        }
        finally { File.Delete(path); }
        Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.SlotSetEncoder("E", "Points", 2, "Label",
            new SetFeaturizerOptions { Encoder = new DeepSetsOptions() }));
    }

    private sealed class EmbeddingRow
    {
        public float[] Embedding { get; set; } = Array.Empty<float>();
    }
}
