using SetML.Models;
using SetML.Modules;
using SetML.Tests.Foundation;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>Janossy pooling (Murphy et al. 2019): k-ary for k = 1, 2, 3 and π-SGD.</summary>
[TestClass]
public sealed class JanossyTests
{
    private static JanossyEncoder KAry(int k) => EncoderChecks.Seeded(6, () =>
        new JanossyEncoder(3, new JanossyOptions { Mode = JanossyMode.KAry, TupleSize = k, PhiHiddenSizes = new[] { 8, 8 }, LatentDimension = 8, TrainingPermutations = 1, InferencePermutations = 1, PermutationSeed = 0, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }));

    private static JanossyEncoder PiSgd(int seed = 0) => EncoderChecks.Seeded(6, () =>
        new JanossyEncoder(3, new JanossyOptions { Mode = JanossyMode.PiSgd, TupleSize = 0, PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, TrainingPermutations = 2, InferencePermutations = 5, PermutationSeed = seed, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }));

    [TestMethod]
    public void KAry_InvariantPaddingSafeFinite_KEquals1To3()
    {
        for (int k = 1; k <= 3; k++)
        {
            using var e = KAry(k);
            EncoderChecks.All(e);
        }
    }

    [TestMethod]
    public void KAry_UsesOnlyDistinctTuples_FewerThanKElementsGivesRhoOfZero()
    {
        using var e = KAry(3);
        var two = TestSets.RandomSet(new Random(4), 2, 3);
        var y = EncoderChecks.Encode(e, new[] { two, Array.Empty<float>() }, 3);
        EncoderChecks.AssertClose(y[1], y[0], 1e-6, "a 2-element set has no 3-tuple of distinct elements");
        using var e2 = KAry(2);
        var one = TestSets.RandomSet(new Random(4), 1, 3);
        var z = EncoderChecks.Encode(e2, new[] { one, Array.Empty<float>() }, 3);
        EncoderChecks.AssertClose(z[1], z[0], 1e-6, "a 1-element set has no pair of distinct elements");
        // A repeated element forms distinct tuples (distinct indices), so {a, a} differs from {a}.
        var aa = one.Concat(one).ToArray();
        var w = EncoderChecks.Encode(e2, new[] { aa, one }, 3);
        Assert.IsTrue(w[0].Zip(w[1]).Any(p => Math.Abs(p.First - p.Second) > 1e-6));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new JanossyOptions { Mode = JanossyMode.KAry, TupleSize = 4 }.CreateEncoder(2));
    }

    [TestMethod]
    public void PiSgd_ExactlyInvariantAndDeterministicAtPrediction()
    {
        using var e = PiSgd();
        EncoderChecks.All(e);
        var set = TestSets.RandomSet(new Random(7), 6, 3);
        var a = EncoderChecks.Encode(e, new[] { set }, 3)[0];
        using var same = PiSgd();
        CollectionAssert.AreEqual(a, EncoderChecks.Encode(same, new[] { set }, 3)[0], "same seed → same prediction");
        using var other = PiSgd(seed: 17);
        var b = EncoderChecks.Encode(other, new[] { set }, 3)[0];
        Assert.IsTrue(a.Zip(b).Any(p => Math.Abs(p.First - p.Second) > 1e-7), "the permutation seed selects the permutations");
    }

    [TestMethod]
    public void PiSgd_TrainingSamplesPermutations_AndBackpropagates()
    {
        using var e = PiSgd();
        e.train();
        var (x, mask) = SetML.SetColumns.SetBatch.Pad(new[] { TestSets.RandomSet(new Random(8), 6, 3), Array.Empty<float>() }, 3);
        using var y1 = e.forward(x, mask);
        using var y2 = e.forward(x, mask);
        Assert.IsTrue(y1[0].sub(y2[0]).abs().max().item<float>() > 1e-7, "training averages over freshly sampled permutations");
        y1.sum().backward();
        Assert.IsTrue(e.parameters().All(p => p.grad is null || p.grad.isfinite().all().item<bool>()));
    }
}
