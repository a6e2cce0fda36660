using SetML.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.SetPrediction;

[TestClass]
public sealed class LossTests
{
    private static Tensor T(float[] v, params long[] shape) => torch.tensor(v, shape);

    // Two predictions, two real targets and one padded target row full of garbage.
    private static (Tensor y, Tensor p, Tensor t, Tensor m) Example(float garbage)
    {
        var y = T(new float[] { 0, 0, 1, 1 }, 1, 2, 2);
        var p = T(new float[] { 1f, 0.5f }, 1, 2);
        var t = T(new float[] { 0.1f, 0, 1, 0.8f, garbage, -garbage }, 1, 3, 2);
        var m = torch.tensor(new[] { true, true, false }, new long[] { 1, 3 });
        return (y, p, t, m);
    }

    [TestMethod]
    public void ChamferMatchesHandComputationAndIgnoresPadding()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var g in new[] { 0f, 100f, -7f })
        {
            var (y, p, t, m) = Example(g);
            double loss = SetLosses.Chamfer(y, p, t, m).item<float>();
            // pred→target: (1·0.01 + 0.5·0.04) / 1.5; target→pred: target 0 covered by y0 (0.01 + 0), target 1 by y1 (0.04 + 0.25).
            double expected = (0.01 + 0.5 * 0.04) / 1.5 + (0.01 + 0.04 + 0.25) / 2;
            Assert.AreEqual(expected, loss, 1e-6, $"garbage {g}");
        }
    }

    [TestMethod]
    public void ChamferOfEmptyTargetAsksForAbsence()
    {
        using var scope = torch.NewDisposeScope();
        var y = T(new float[] { 0, 0, 1, 1 }, 1, 2, 2);
        var p = T(new float[] { 0.5f, 0.2f }, 1, 2);
        var t = torch.zeros(1, 1, 2);
        var m = torch.zeros(1, 1, dtype: ScalarType.Bool);
        Assert.AreEqual((0.25 + 0.04) / 2, SetLosses.Chamfer(y, p, t, m).item<float>(), 1e-6);
        Assert.AreEqual((0.25 + 0.04) / 2, SetLosses.Hungarian(y, p, t, m).item<float>(), 1e-6);
    }

    [TestMethod]
    public void HungarianEqualsBestPermutationAndIgnoresPadding()
    {
        using var scope = torch.NewDisposeScope();
        var rng = new Random(1);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = 4;
            var yv = Enumerable.Range(0, n * 3).Select(_ => (float)rng.NextDouble()).ToArray();
            var tv = Enumerable.Range(0, n * 3).Select(_ => (float)rng.NextDouble()).ToArray();
            var padded = tv.Concat(new float[] { 50, 50, 50 }).ToArray();
            var y = T(yv, 1, n, 3);
            var t = T(padded, 1, n + 1, 3);
            var m = torch.tensor(Enumerable.Range(0, n + 1).Select(i => i < n).ToArray(), new long[] { 1, n + 1 });
            foreach (var cost in new[] { PairwiseCost.SquaredError, PairwiseCost.Huber })
            {
                double loss = SetLosses.Hungarian(y, null, t, m, cost).item<float>();
                double best = Permutations(n).Min(perm => Enumerable.Range(0, n).Sum(i =>
                    Enumerable.Range(0, 3).Sum(k => Cost(yv[i * 3 + k] - tv[perm[i] * 3 + k], cost)))) / n;
                Assert.AreEqual(best, loss, 1e-5, $"trial {trial} {cost}");
            }
        }
    }

    [TestMethod]
    public void HungarianPresenceCostsAndGradientFlowThroughMatchedPairs()
    {
        using var scope = torch.NewDisposeScope();
        // Three slots, one real target: slot 1 is closest. Unmatched slots pay p², the matched one (1 − p)² + distance.
        var y = T(new float[] { 5, 5, 0, 0, -5, -5 }, 1, 3, 2).requires_grad_();
        var p = T(new float[] { 0.2f, 0.9f, 0.1f }, 1, 3).requires_grad_();
        var t = T(new float[] { 0.1f, 0.2f, 9, 9 }, 1, 2, 2);
        var m = torch.tensor(new[] { true, false }, new long[] { 1, 2 });
        var loss = SetLosses.Hungarian(y, p, t, m);
        double expected = (0.04 + 0.01 + 0.04 + 0.01 + 0.01) / 3;
        Assert.AreEqual(expected, loss.item<float>(), 1e-6);
        loss.backward();
        var gy = y.grad!.data<float>().ToArray();
        Assert.AreEqual(0f, gy[0]); Assert.AreEqual(0f, gy[4]);               // unmatched elements get no coordinate gradient
        Assert.AreEqual(2 * -0.1f / 3, gy[2], 1e-6f);                         // matched: d/dy (y − t)² / N
        var match = SetLosses.HungarianMatch(y, p, t, m, PairwiseCost.SquaredError).data<long>().ToArray();
        CollectionAssert.AreEqual(new long[] { -1, 0, -1 }, match);
    }

    [TestMethod]
    public void HungarianRejectsTargetsLargerThanTheSlotsAndNaN()
    {
        using var scope = torch.NewDisposeScope();
        var y = torch.zeros(1, 1, 2);
        var t = torch.zeros(1, 2, 2);
        var m = torch.ones(1, 2, dtype: ScalarType.Bool);
        var e = Assert.ThrowsExactly<ArgumentException>(() => SetLosses.Hungarian(y, null, t, m));
        StringAssert.Contains(e.Message, "at most 1");
        var yNaN = torch.full(1, 2, 2, float.NaN);
        var e2 = Assert.ThrowsExactly<ArgumentException>(() => SetLosses.Hungarian(yNaN, null, t, m));
        StringAssert.Contains(e2.Message, "finite");
    }

    [TestMethod]
    public void ChamferHuberEqualsSquaredForSmallDifferences()
    {
        using var scope = torch.NewDisposeScope();
        var (y, p, t, m) = Example(3);
        double sq = SetLosses.Chamfer(y, p, t, m, PairwiseCost.SquaredError).item<float>();
        double hu = SetLosses.Chamfer(y, p, t, m, PairwiseCost.Huber).item<float>();
        Assert.AreEqual(sq / 2, hu, 1e-6, "Huber is ½x² below 1");
    }

    private static double Cost(double x, PairwiseCost c) => c == PairwiseCost.SquaredError ? x * x : (Math.Abs(x) < 1 ? 0.5 * x * x : Math.Abs(x) - 0.5);

    private static IEnumerable<int[]> Permutations(int n)
    {
        if (n == 0) { yield return Array.Empty<int>(); yield break; }
        foreach (var p in Permutations(n - 1))
            for (int i = 0; i <= p.Length; i++)
                yield return p.Take(i).Append(n - 1).Concat(p.Skip(i)).ToArray();
    }
}
