using SetML.Samples.Data;

namespace SetML.Tests.Samples;

/// <summary>
/// The point-sets benchmark trains on exactly the sets of ../shared/bench/pointsets_reference.py: NumPy's
/// default_rng port and the image → (x, y, intensity) set conversion, checked against values NumPy 1.24.2 and the
/// reference's own point_sets() printed.
/// </summary>
[TestClass]
public sealed class PointSetsReferenceTests
{
    [TestMethod]
    public void NumPyRandom_MatchesNumPy()
    {
        // np.random.default_rng(0).random()
        Assert.AreEqual(0.6369616873214543, new NumPyRandom(0).NextDouble());
        // r = default_rng(0); r.choice(200, 10, replace=False); r.choice(37, 5, replace=False)
        var r = new NumPyRandom(0);
        CollectionAssert.AreEqual(new long[] { 162, 199, 122, 98, 52, 8, 3, 60, 34, 14 }, r.ChooseWithoutReplacement(200, 10));
        CollectionAssert.AreEqual(new long[] { 28, 30, 0, 24, 9 }, r.ChooseWithoutReplacement(37, 5));
        // default_rng(1).choice(784, 100, replace=False)[:10]
        CollectionAssert.AreEqual(new long[] { 533, 467, 88, 96, 286, 146, 190, 45, 85, 342 }, new NumPyRandom(1).ChooseWithoutReplacement(784, 100).Take(10).ToArray());
    }

    [TestMethod]
    [DataRow(FashionMnistSplit.Train, 0UL, 30000, 51521.61701398343, 2602360.385562051, new[] { 0.6666666865348816, 0.8148148059844971, 0.7647058963775635 })]
    [DataRow(FashionMnistSplit.Test, 1UL, 29994, 51214.71983850375, 2588891.504130047, new[] { 0.7037037014961243, 0.5185185074806213, 0.7137255072593689 })]
    public void ReferenceSets_MatchThePyTorchScript(FashionMnistSplit split, ulong seed, int elements, double sum, double positionWeightedSum, double[] lastSetFirstElement)
    {
        if (!FashionMnist.IsInstalled()) Assert.Inconclusive("Fashion-MNIST is not installed (sudo apt-get install dataset-fashion-mnist).");
        // Reference: x, m = point_sets(images[:300], 100, 3, seed); m.sum(), (x*m).sum(), (x*position*m).sum(), x[299, 0]
        var sets = FashionPointSets.LoadReference(FashionMnist.Load(split, 300), 100, seed);
        Assert.AreEqual(elements, sets.Sum(s => s.Set.Length / 3));
        double total = 0, weighted = 0;
        foreach (var s in sets)
            for (int i = 0; i < s.Set.Length; i++) { total += s.Set[i]; weighted += s.Set[i] * (double)(i / 3 + 1); }
        Assert.AreEqual(sum, total, 1e-7 * sum);
        Assert.AreEqual(positionWeightedSum, weighted, 1e-7 * positionWeightedSum);
        CollectionAssert.AreEqual(lastSetFirstElement.Select(v => (float)v).ToArray(), sets[299].Set.Take(3).ToArray());
    }
}
