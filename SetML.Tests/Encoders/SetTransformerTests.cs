using SetML.Persistence;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>Set Transformer family: MAB, SAB, ISAB, PMA, SetTransformerEncoder, and its ML.NET featurizer.</summary>
[TestClass]
public sealed class SetTransformerTests
{
    private const double Tolerance = 1e-5;

    private static SetTransformerEncoder Encoder(bool induced, bool layerNorm, int seeds = 2, int seed = 7, int[]? elementHidden = null)
    {
        lock (TorchRuntime.InitializationLock)
        {
            TorchRuntime.Seed(seed);
            var e = (SetTransformerEncoder)new SetTransformerOptions
            {
                UseInducedPoints = induced, InducingPoints = 3, Width = 16, Heads = 4, Seeds = seeds, LayerNorm = layerNorm,
                ElementHiddenSizes = elementHidden ?? Array.Empty<int>(),
            }.CreateEncoder(3);
            e.eval();
            return e;
        }
    }

    private static List<float[]> RandomSets(int seed, params int[] sizes)
    {
        var rng = new Random(seed);
        return sizes.Select(n => Enumerable.Range(0, n * 3).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray()).ToList();
    }

    private static float[] Values(Tensor t) => t.cpu().contiguous().data<float>().ToArray();

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.AreEqual(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs((double)x - y)).DefaultIfEmpty(0).Max();
    }

    private static float[] Permute(float[] set, int[] perm, int d)
        => perm.SelectMany(p => set.AsSpan(p * d, d).ToArray()).ToArray();

    private static float[] Embed(SetTransformerEncoder e, IReadOnlyList<float[]> sets, int minimumLength = 0)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var (x, m) = SetBatch.Pad(sets, 3, minimumLength: minimumLength);
        return Values(e.forward(x, m));
    }

    // ---------------------------------------------------------------- numerical cross-check against PyTorch

    private static JsonElement FixtureCase(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SetML.Tests", "Fixtures", "set_transformer_fixture.json"))) dir = dir.Parent;
        Assert.IsNotNull(dir, "SetML.Tests/Fixtures/set_transformer_fixture.json not found above the test binaries");
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir!.FullName, "SetML.Tests", "Fixtures", "set_transformer_fixture.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
    }

    private static Tensor FixtureTensor(JsonElement c, string values, string shape)
        => torch.tensor(c.GetProperty(values).EnumerateArray().Select(v => (float)v.GetDouble()).ToArray(),
                        c.GetProperty(shape).EnumerateArray().Select(v => v.GetInt64()).ToArray());

    private static void LoadFixtureWeights(nn.Module module, JsonElement c)
    {
        var ps = c.GetProperty("params");
        // Stable weight names (a renamed field keeps its saved name with [WeightName]) are the PyTorch reference's names.
        var ours = module.named_parameters().Select(p => (name: WeightArchive.StableName(module, p.name), p.parameter)).ToList();
        CollectionAssert.AreEquivalent(ps.EnumerateObject().Select(p => p.Name).ToList(), ours.Select(p => p.name).ToList(),
            "parameter names must match the PyTorch fixture one to one");
        using var _ = torch.no_grad();
        foreach (var (name, p) in ours)
        {
            var src = ps.GetProperty(name);
            using var t = FixtureTensor(src, "values", "shape");
            p.copy_(t);
        }
    }

    [TestMethod]
    [DataRow("mab")]
    [DataRow("sab")]
    [DataRow("isab")]
    [DataRow("pma")]
    [DataRow("encoder")]
    public void BlocksMatchPyTorchFixture(string name)
    {
        var c = FixtureCase(name);
        var cfg = c.GetProperty("config");
        int I(string k) => cfg.GetProperty(k).GetInt32();
        bool ln = cfg.GetProperty("layer_norm").GetBoolean();
        using var scope = torch.NewDisposeScope();
        using var x = FixtureTensor(c, "x", "x_shape");
        using var mask = torch.tensor(c.GetProperty("mask").EnumerateArray().Select(v => v.GetBoolean()).ToArray(), new long[] { x.shape[0], x.shape[1] });
        nn.Module module;
        Func<Tensor> run;
        switch (name)
        {
            case "mab":
                var mab = new MultiheadAttentionBlock(I("dq"), I("dk"), I("width"), I("heads"), ln);
                var q = FixtureTensor(c, "query", "query_shape");
                (module, run) = (mab, () => mab.forward(q, x, mask));
                break;
            case "sab":
                var sab = new SetAttentionBlock(I("din"), I("width"), I("heads"), ln);
                (module, run) = (sab, () => sab.forward(x, mask));
                break;
            case "isab":
                var isab = new InducedSetAttentionBlock(I("din"), I("width"), I("heads"), I("inducing_points"), ln);
                (module, run) = (isab, () => isab.forward(x, mask));
                break;
            case "pma":
                var pma = new Pma(I("width"), I("heads"), I("seeds"), ln);
                (module, run) = (pma, () => pma.forward(x, mask));
                break;
            default:
                var enc = new SetTransformerEncoder(I("din"), new SetTransformerOptions { Width = I("width"), Heads = I("heads"), Layers = I("layers"), Seeds = I("seeds"), DecoderSelfAttention = true, LayerNorm = ln });
                (module, run) = (enc, () => enc.forward(x, mask));
                break;
        }
        LoadFixtureWeights(module, c);
        module.eval();
        using var _ = torch.no_grad();
        var ours = Values(run());
        var expected = c.GetProperty("output").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.AreEqual(expected.Length, ours.Length);
        for (int i = 0; i < ours.Length; i++)
            Assert.IsTrue(Math.Abs(ours[i] - expected[i]) <= Tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"{name}[{i}]: SetML {ours[i]} vs PyTorch {expected[i]}");
        module.Dispose();
    }

    // ---------------------------------------------------------------- symmetry and masks

    [TestMethod]
    [DataRow(false, true)]
    [DataRow(true, false)]
    public void EncoderIsPermutationInvariant(bool induced, bool layerNorm)
    {
        using var e = Encoder(induced, layerNorm);
        var sets = RandomSets(1, 7, 4);
        var rng = new Random(3);
        var permuted = sets.Select(s => Permute(s, Enumerable.Range(0, s.Length / 3).OrderBy(_ => rng.Next()).ToArray(), 3)).ToList();
        Assert.IsTrue(MaxAbsDiff(Embed(e, sets), Embed(e, permuted)) <= Tolerance);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void SabAndIsabArePermutationEquivariant(bool induced)
    {
        lock (TorchRuntime.InitializationLock) TorchRuntime.Seed(11);
        using SetLayer block = induced ? new InducedSetAttentionBlock(3, 8, 2, 4, layerNorm: true) : new SetAttentionBlock(3, 8, 2, layerNorm: true);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var set = RandomSets(2, 6)[0];
        var perm = new[] { 3, 0, 5, 1, 4, 2 };
        var (x, m) = SetBatch.Pad(new[] { set }, 3);
        var (xp, mp) = SetBatch.Pad(new[] { Permute(set, perm, 3) }, 3);
        var y = Values(block.forward(x, m));
        var yp = Values(block.forward(xp, mp));
        Assert.IsTrue(MaxAbsDiff(Permute(y, perm, 8), yp) <= Tolerance, "f(πX) must equal πf(X)");
    }

    [TestMethod]
    [DataRow(false, true)]
    [DataRow(true, true)]
    [DataRow(true, false)]
    public void RaggedBatchGivesEachSetsOwnEmbedding(bool induced, bool layerNorm)
    {
        using var e = Encoder(induced, layerNorm);
        var sets = RandomSets(4, 9, 1, 5, 2);
        var batch = Embed(e, sets, minimumLength: 12);              // extra padding beyond the largest set
        int dim = e.OutputDimension;
        for (int i = 0; i < sets.Count; i++)
        {
            var alone = Embed(e, new[] { sets[i] });
            Assert.IsTrue(MaxAbsDiff(batch.AsSpan(i * dim, dim).ToArray(), alone) <= Tolerance, $"set {i} changed by padding/batching");
        }
    }

    [TestMethod]
    [DataRow(false, true)]
    [DataRow(true, true)]
    public void EmptyAndSingleElementSetsAreFinite(bool induced, bool layerNorm)
    {
        using var e = Encoder(induced, layerNorm);
        var sets = new List<float[]> { Array.Empty<float>(), new[] { 0.5f, -1f, 2f }, RandomSets(5, 4)[0] };
        var emb = Embed(e, sets);
        Assert.IsTrue(emb.All(float.IsFinite), "embeddings must be finite");
        Assert.IsTrue(Embed(e, new[] { Array.Empty<float>(), Array.Empty<float>() }).All(float.IsFinite), "an all-empty batch (Nmax = 0) must be finite");
        // the empty set's embedding does not depend on how much padding it gets
        Assert.IsTrue(MaxAbsDiff(emb.AsSpan(0, e.OutputDimension).ToArray(), Embed(e, new[] { Array.Empty<float>() })) <= Tolerance);

        // gradients through an empty set are finite too
        e.train();
        using var scope = torch.NewDisposeScope();
        var (x, m) = SetBatch.Pad(sets, 3);
        e.forward(x, m).sum().backward();
        foreach (var p in e.parameters())
            if (p.grad is not null) Assert.IsTrue(Values(p.grad).All(float.IsFinite), "gradient must be finite");
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void ElementNetworkFeedsTheAttentionAndKeepsTheSymmetries(bool induced)
    {
        using var e = Encoder(induced, layerNorm: true, elementHidden: new[] { 12, 5 });
        var names = e.named_parameters().Select(p => WeightArchive.StableName(e, p.name)).ToList();
        CollectionAssert.IsSubsetOf(new[] { "encoder.element_rff.layers.0.weight", "encoder.element_rff.layers.1.weight" }, names);
        var first = e.named_parameters().Single(p => WeightArchive.StableName(e, p.name) == "encoder.element_rff.layers.0.weight").parameter;
        CollectionAssert.AreEqual(new long[] { 12, 3 }, first.shape, "the element rFF reads the d_x = 3 inputs");
        var firstBlock = e.named_parameters().First(p => WeightArchive.StableName(e, p.name) is var n && n.Contains("blocks.0.") && n.EndsWith("fc_k.weight")).parameter;
        Assert.AreEqual(5L, firstBlock.shape[1], "the first attention block reads the element rFF's 5 outputs");

        // invariance, and every set of a ragged batch gets its own embedding
        var sets = RandomSets(8, 6, 1, 4);
        var rng = new Random(2);
        var permuted = sets.Select(s => Permute(s, Enumerable.Range(0, s.Length / 3).OrderBy(_ => rng.Next()).ToArray(), 3)).ToList();
        var batch = Embed(e, sets, minimumLength: 9);
        Assert.IsTrue(MaxAbsDiff(batch, Embed(e, permuted)) <= Tolerance, "permutation invariant");
        int dim = e.OutputDimension;
        for (int i = 0; i < sets.Count; i++)
            Assert.IsTrue(MaxAbsDiff(batch.AsSpan(i * dim, dim).ToArray(), Embed(e, new[] { sets[i] })) <= Tolerance, $"set {i} changed by padding/batching");

        // without the element rFF the same seed gives a different network (the option is not ignored)
        using var plain = Encoder(induced, layerNorm: true);
        Assert.IsTrue(MaxAbsDiff(batch, Embed(plain, sets, minimumLength: 9)) > 1e-3);

        var ex = Assert.ThrowsExactly<ArgumentException>(() => new SetTransformerOptions { ElementHiddenSizes = new[] { 8, 0 } }.CreateEncoder(2));
        Assert.AreEqual("ElementHiddenSizes", ex.ParamName);
        Assert.AreEqual(0, new SetTransformerOptions().ElementHiddenSizes.Length, "default: no element network (the paper's point-cloud encoder)");
    }

    [TestMethod]
    public void SetTransformerIsNotMiniBatchConsistent()
    {
        Assert.IsFalse(new SetTransformerOptions().IsMiniBatchConsistent);
        using var e = Encoder(induced: false, layerNorm: false, seeds: 1);
        var set = RandomSets(6, 10)[0];
        var whole = Embed(e, new[] { set });
        var halves = Embed(e, new[] { set[..15], set[15..] });
        int dim = e.OutputDimension;
        // pooling the halves' embeddings (mean or sum) does not give the whole set's embedding
        var mean = Enumerable.Range(0, dim).Select(i => (halves[i] + halves[dim + i]) / 2).ToArray();
        var sum = Enumerable.Range(0, dim).Select(i => halves[i] + halves[dim + i]).ToArray();
        Assert.IsTrue(MaxAbsDiff(mean, whole) > 1e-3, "mean of halves unexpectedly equals the whole");
        Assert.IsTrue(MaxAbsDiff(sum, whole) > 1e-3, "sum of halves unexpectedly equals the whole");
    }

    [TestMethod]
    public void SameSeedGivesIdenticalWeightsAndOptionsAreChecked()
    {
        using var a = Encoder(true, true, seed: 5);
        using var b = Encoder(true, true, seed: 5);
        foreach (var ((n, p), (_, q)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.IsTrue(Values(p).SequenceEqual(Values(q)), n);
        var o = new SetTransformerOptions { Width = 16, Seeds = 3 };
        Assert.AreEqual(48, o.CreateEmbeddingDimension(5));
        using (var enc = o.CreateEncoder(5)) Assert.AreEqual(48, enc.OutputDimension);
        Assert.AreEqual(10, new SetTransformerOptions { EmbeddingDimension = 10 }.CreateEmbeddingDimension(2));
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new SetTransformerOptions { Width = 10, Heads = 4 }.CreateEncoder(2));
        Assert.AreEqual("Heads", ex.ParamName);
    }

    // ---------------------------------------------------------------- ML.NET featurizer

    private sealed class Row
    {
        public float[] Set { get; set; } = Array.Empty<float>();
        public float Label { get; set; }
    }

    private sealed class Prediction
    {
        public float Score { get; set; }
    }

    private static List<Row> MaxRows(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var v = Enumerable.Range(0, rng.Next(1, 8)).Select(_ => (float)rng.NextDouble()).ToArray();
            return new Row { Set = v, Label = v.Max() };
        }).ToList();
    }

    [TestMethod]
    public void FeaturizerRejectsAnotherEncoderType()
    {
        var ml = new MLContext(0);
        Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.SetTransformer("E", "Set", 1, "Label",
            new SetFeaturizerOptions { Encoder = new DeepSetsOptions() }));
    }

    private sealed class Embedding
    {
        public float[] E { get; set; } = Array.Empty<float>();
    }

    [TestMethod]
    public void FeaturizerWithoutLabelTrainsAsAutoEncoderEncoder()
    {
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(MaxRows(16, 1));
        var options = new SetFeaturizerOptions { Epochs = 1, BatchSize = 8, Encoder = new SetTransformerOptions { Width = 8, Heads = 2, Layers = 1, Seeds = 2 } };
        var model = ml.Transforms.SetTransformer("E", "Set", 1, labelColumnName: null, options).Fit(data);
        var rows = ml.Data.CreateEnumerable<Embedding>(model.Transform(data), false, ignoreMissingColumns: true).ToList();
        Assert.AreEqual(16, rows.Count);
        Assert.IsTrue(rows.All(r => r.E.Length == 16 && r.E.All(float.IsFinite)), "k·Width = 16 finite values per set");
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void FeaturizerWithSdcaSavesAndLoadsWithIdenticalPredictions(bool elementNetwork)
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(MaxRows(256, 2));
        var test = ml.Data.LoadFromEnumerable(MaxRows(40, 3));
        var options = new SetFeaturizerOptions
        {
            Epochs = 3, BatchSize = 32, Encoder = new SetTransformerOptions
            {
                Width = 16, Heads = 2, Layers = 1, Seeds = 2, UseInducedPoints = true, InducingPoints = 4,
                ElementHiddenSizes = elementNetwork ? new[] { 8 } : Array.Empty<int>(),
            },
        };
        var pipeline = ml.Transforms.SetTransformer("Features", "Set", 1, "Label", options)
            .Append(ml.Regression.Trainers.Sdca("Label", "Features", maximumNumberOfIterations: 5));
        var model = pipeline.Fit(train);
        var path = Path.Combine(Path.GetTempPath(), $"setml-st-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, train.Schema, path);
            var loaded = ml.Model.Load(path, out _);
            var before = ml.Data.CreateEnumerable<Prediction>(model.Transform(test), false).Select(p => p.Score).ToArray();
            var after = ml.Data.CreateEnumerable<Prediction>(loaded.Transform(test), false).Select(p => p.Score).ToArray();
            Assert.AreEqual(40, before.Length);
            Assert.IsTrue(before.All(float.IsFinite));
            CollectionAssert.AreEqual(before, after, "predictions must be identical after save/load");
            var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(loaded);
            Assert.AreEqual(after[0], engine.Predict(MaxRows(40, 3)[0]).Score, 1e-5, "a single-row prediction equals the batched one");
        }
        finally { File.Delete(path); }
    }
}
