using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Foundation;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>rFFp-mean / rFFp-max (Deep Sets eq. 4, Set Transformer eq. 2) and the EquivariantDeepSets encoder.</summary>
[TestClass]
public sealed class EquivariantLayerTests
{
    private static float[][] Rows(SetLayer layer, IReadOnlyList<float[]> sets, int minimumLength = 0)
    {
        layer.eval();
        using var _ = torch.no_grad();
        var (x, mask) = SetBatch.Pad(sets, layer.InputDimension, minimumLength: minimumLength);
        using var y = layer.forward(x, mask);
        var result = Enumerable.Range(0, sets.Count).Select(i => y[i].contiguous().data<float>().ToArray()).ToArray();
        x.Dispose(); mask.Dispose();
        return result;
    }

    [TestMethod]
    public void PermutationEquivariant_MeanAndMax()
    {
        foreach (var pool in new[] { PoolingKind.Mean, PoolingKind.Max })
        {
            using var layer = EncoderChecks.Seeded(1, () => new PermutationEquivariantLayer(3, 5, pool));
            var rng = new Random(2);
            var set = TestSets.RandomSet(rng, 6, 3);
            var perm = TestSets.RandomPermutation(rng, 6);
            var y = Rows(layer, new[] { set, TestSets.Permute(set, 3, perm) });
            // f(πX) = π f(X): output row i of the permuted set is output row perm[i] of the original.
            for (int i = 0; i < 6; i++)
                EncoderChecks.AssertClose(y[0][(perm[i] * 5)..((perm[i] + 1) * 5)], y[1][(i * 5)..((i + 1) * 5)], 1e-5, $"rFFp-{pool} row {i}");
        }
    }

    [TestMethod]
    public void Padding_RowsAreZero_RealRowsUnchanged_EmptyFinite()
    {
        using var layer = EncoderChecks.Seeded(1, () => new PermutationEquivariantLayer(2, 4, PoolingKind.Max));
        var rng = new Random(3);
        var sets = new[] { TestSets.RandomSet(rng, 3, 2), Array.Empty<float>(), TestSets.RandomSet(rng, 1, 2) };
        var batch = Rows(layer, sets, minimumLength: 5);
        for (int s = 0; s < sets.Length; s++)
        {
            int n = sets[s].Length / 2;
            var alone = Rows(layer, new[] { sets[s] });
            EncoderChecks.AssertClose(alone[0][..(n * 4)], batch[s][..(n * 4)], 1e-5, $"set {s} real rows");
            Assert.IsTrue(batch[s][(n * 4)..].All(v => v == 0), $"set {s}: padded rows must be zero");
        }
    }

    [TestMethod]
    public void EquivariantDeepSets_InvariantPaddingSafeFinite()
    {
        foreach (var pool in new[] { PoolingKind.Mean, PoolingKind.Max })
        {
            using var e = EncoderChecks.Seeded(2, () => new EquivariantDeepSetsEncoder(3, new EquivariantDeepSetsOptions { LayerSizes = new[] { 8, 8 }, LayerPooling = pool, Pooling = PoolingKind.Mean, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }));
            EncoderChecks.All(e);
        }
        Assert.AreEqual(new SetML.Models.EquivariantDeepSetsOptions().EmbeddingDimension, new SetML.Models.EquivariantDeepSetsOptions().CreateEmbeddingDimension(3));
        Assert.ThrowsExactly<ArgumentException>(() => new SetML.Models.EquivariantDeepSetsOptions { LayerSizes = Array.Empty<int>() }.CreateEncoder(3));
    }
}
