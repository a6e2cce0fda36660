using SetML.Models;
using SetML.Modules;
using SetML.Tests.Foundation;

namespace SetML.Tests.Encoders;

/// <summary>Relation network (Santoro et al. 2017): f(Σ_{i,j} g(x_i, x_j)).</summary>
[TestClass]
public sealed class RelationNetworkTests
{
    [TestMethod]
    public void InvariantPaddingSafeFinite_SumAndMean()
    {
        foreach (var pool in new[] { PoolingKind.Sum, PoolingKind.Mean })
        {
            using var e = EncoderChecks.Seeded(4, () => new RelationNetworkEncoder(3, new RelationNetworkOptions { GHiddenSizes = new[] { 8, 8 }, LatentDimension = 8, PairPooling = pool, FHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }));
            EncoderChecks.All(e);
        }
    }

    [TestMethod]
    public void SumOverPairs_ScalesWithRepeatedSets_MeanDoesNot()
    {
        // For X' = X ∪ X (every element twice) the n² pairs appear 4 times: Σ-pooling quadruples, mean-pooling is unchanged.
        var x = TestSets.RandomSet(new Random(5), 3, 2);
        var xx = x.Concat(x).ToArray();
        using var mean = EncoderChecks.Seeded(4, () => new RelationNetworkEncoder(2, new RelationNetworkOptions { GHiddenSizes = new[] { 6 }, LatentDimension = 6, PairPooling = PoolingKind.Mean, FHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 3 }));
        var m = EncoderChecks.Encode(mean, new[] { x, xx }, 2);
        EncoderChecks.AssertClose(m[0], m[1], 1e-5, "mean over pairs of a doubled set");
        using var sum = EncoderChecks.Seeded(4, () => new RelationNetworkEncoder(2, new RelationNetworkOptions { GHiddenSizes = new[] { 6 }, LatentDimension = 6, PairPooling = PoolingKind.Sum, FHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 3 }));
        var s = EncoderChecks.Encode(sum, new[] { x, xx, Array.Empty<float>() }, 2);
        // f is linear here (no hidden layer): f(4p) − f(0) = 4 (f(p) − f(0)).
        for (int j = 0; j < 3; j++)
            Assert.AreEqual(4 * (s[0][j] - s[2][j]), s[1][j] - s[2][j], 1e-4, $"output {j}");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new RelationNetworkOptions { PairPooling = PoolingKind.Max }.CreateEncoder(2));
    }
}
