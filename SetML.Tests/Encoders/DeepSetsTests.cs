using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Foundation;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>Deep Sets encoder and masked pooling: invariance, padding, empty and single-element sets.</summary>
[TestClass]
public sealed class DeepSetsTests
{
    private static DeepSetsEncoder Encoder(PoolingKind pooling, int d = 3)
    {
        torch.random.manual_seed(42);
        var e = new DeepSetsEncoder(d, new DeepSetsOptions { PhiHiddenSizes = new[] { 16, 16 }, LatentDimension = 12, RhoHiddenSizes = new[] { 16 }, EmbeddingDimension = 8, Pooling = pooling });
        e.eval();
        return e;
    }

    private static float[] Encode(SetEncoder e, IReadOnlyList<float[]> sets, int d, int row, int minimumLength = 0)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var (x, m) = SetBatch.Pad(sets, d, minimumLength: minimumLength);
        return e.forward(x, m)[row].data<float>().ToArray();
    }

    private static void AssertClose(float[] a, float[] b, double tol, string what)
    {
        Assert.AreEqual(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(a[i], b[i], tol, $"{what}: component {i}");
    }

    [TestMethod]
    [DataRow(PoolingKind.Sum)] [DataRow(PoolingKind.Mean)] [DataRow(PoolingKind.Max)] [DataRow(PoolingKind.Min)]
    public void PermutationInvariant(PoolingKind pooling)
    {
        var e = Encoder(pooling);
        var rng = new Random(1);
        for (int trial = 0; trial < 5; trial++)
        {
            int n = rng.Next(2, 12);
            var s = TestSets.RandomSet(rng, n, 3);
            var p = TestSets.Permute(s, 3, TestSets.RandomPermutation(rng, n));
            AssertClose(Encode(e, new[] { s }, 3, 0), Encode(e, new[] { p }, 3, 0), 1e-5, $"{pooling} trial {trial}");
        }
    }

    [TestMethod]
    [DataRow(PoolingKind.Sum)] [DataRow(PoolingKind.Mean)] [DataRow(PoolingKind.Max)] [DataRow(PoolingKind.Min)]
    public void PaddingInvariant_AloneEqualsInRaggedBatch(PoolingKind pooling)
    {
        var e = Encoder(pooling);
        var rng = new Random(2);
        var sets = Enumerable.Range(0, 6).Select(i => TestSets.RandomSet(rng, 1 + 3 * i, 3)).ToList();
        for (int i = 0; i < sets.Count; i++)
        {
            var alone = Encode(e, new[] { sets[i] }, 3, 0);
            AssertClose(alone, Encode(e, sets, 3, i), 1e-6, $"{pooling} set {i} in batch");
            AssertClose(alone, Encode(e, new[] { sets[i] }, 3, 0, minimumLength: 40), 1e-6, $"{pooling} set {i} padded to 40");
        }
    }

    [TestMethod]
    [DataRow(PoolingKind.Sum)] [DataRow(PoolingKind.Mean)] [DataRow(PoolingKind.Max)] [DataRow(PoolingKind.Min)]
    public void EmptyAndSingleElementSets_AreFinite(PoolingKind pooling)
    {
        var e = Encoder(pooling);
        var rng = new Random(3);
        var sets = new List<float[]> { Array.Empty<float>(), TestSets.RandomSet(rng, 1, 3), TestSets.RandomSet(rng, 5, 3) };
        for (int i = 0; i < sets.Count; i++)
            Assert.IsTrue(Encode(e, sets, 3, i).All(float.IsFinite), $"{pooling} set {i}");
        Assert.IsTrue(Encode(e, new[] { Array.Empty<float>() }, 3, 0).All(float.IsFinite), "batch of one empty set");
    }

    [TestMethod]
    public void MaskedPooling_MatchesDefinitionsAndIgnoresPadding()
    {
        // Two sets of 1-D features: {1, 5, -2} and {3}, padded with large garbage values that must not count.
        var x = torch.tensor(new float[] { 1, 5, -2, 3, 1000, -1000 }, new long[] { 2, 3, 1 });
        var m = torch.tensor(new[] { true, true, true, true, false, false }, new long[] { 2, 3 });
        float At(PoolingKind k, int row) => MaskedPooling.Pool(x, m, k)[row, 0].item<float>();
        Assert.AreEqual(4f, At(PoolingKind.Sum, 0)); Assert.AreEqual(3f, At(PoolingKind.Sum, 1));
        Assert.AreEqual(4f / 3, At(PoolingKind.Mean, 0), 1e-6); Assert.AreEqual(3f, At(PoolingKind.Mean, 1));
        Assert.AreEqual(5f, At(PoolingKind.Max, 0)); Assert.AreEqual(3f, At(PoolingKind.Max, 1));
        Assert.AreEqual(-2f, At(PoolingKind.Min, 0)); Assert.AreEqual(3f, At(PoolingKind.Min, 1));
        var empty = torch.tensor(new[] { false, false, false, false, false, false }, new long[] { 2, 3 });
        foreach (PoolingKind k in Enum.GetValues<PoolingKind>())
            Assert.AreEqual(0f, MaskedPooling.Pool(x, empty, k)[0, 0].item<float>(), $"{k} of an empty set");
    }

    [TestMethod]
    public void SumPooling_IsMiniBatchConsistent()
    {
        // Deep Sets with sum pooling: pooling φ over a partition and summing equals pooling the whole set.
        var e = Encoder(PoolingKind.Sum);
        var rng = new Random(4);
        var s = TestSets.RandomSet(rng, 10, 3);
        using var _ = torch.no_grad();
        var (x, m) = SetBatch.Pad(new[] { s }, 3);
        var whole = MaskedPooling.Pool(e.Phi(x), m, PoolingKind.Sum);
        var (x1, m1) = SetBatch.Pad(new[] { s[..12] }, 3);
        var (x2, m2) = SetBatch.Pad(new[] { s[12..] }, 3);
        var parts = MaskedPooling.Pool(e.Phi(x1), m1, PoolingKind.Sum) + MaskedPooling.Pool(e.Phi(x2), m2, PoolingKind.Sum);
        AssertClose(whole[0].data<float>().ToArray(), parts[0].data<float>().ToArray(), 1e-5, "partition");
    }
}
