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
    [DataRow(0UL, 1778.015705138445, 88087.48680438101, new[] { 0.9629629850387573, 0.6296296119689941, 0.9333333373069763 })]
    [DataRow(1UL, 1777.3019790053368, 88733.61527328938, new[] { 0.14814814925193787, 0.25925925374031067, 0.7215686440467834 })]
    public void ReferenceSets_MatchThePyTorchScript_OnSyntheticImages(ulong seed, double sum, double positionWeightedSum, double[] set9FirstElement)
    {
        // Twelve synthetic images in the IDX format (run with or without the Debian package): ten dense ones
        // ((i·7919 + p²·31 + p·17) mod 251 at pixel p, so > 100 bright pixels are subsampled), one with 16 bright pixels
        // (200 at every 50th pixel, kept whole) and one all black (empty set). Reference: the script's point_sets(images,
        // 100, 3, seed) on the same array: m.sum() = 1016, (x*m).sum(), (x*position*m).sum(), x[9, 0].
        var dir = Directory.CreateTempSubdirectory("setml-ref-").FullName;
        try
        {
            var images = new byte[12 * 784];
            for (int i = 0; i < 12; i++)
                for (int p = 0; p < 784; p++)
                    images[i * 784 + p] = (byte)(i < 10 ? (i * 7919L + (long)p * p * 31 + p * 17) % 251 : i == 10 && p % 50 == 0 ? 200 : 0);
            FashionMnistTests.WriteIdx(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), 0x00000803, new[] { 12, 28, 28 }, images);
            FashionMnistTests.WriteIdx(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"), 0x00000801, new[] { 12 }, new byte[12]);
            var sets = FashionPointSets.LoadReference(FashionMnist.Load(FashionMnistSplit.Test, null, dir), 100, seed);
            CollectionAssert.AreEqual(Enumerable.Repeat(100, 10).Append(16).Append(0).ToArray(), sets.Select(s => s.Set.Length / 3).ToArray());
            AssertSums(sets, sum, positionWeightedSum);
            CollectionAssert.AreEqual(set9FirstElement.Select(v => (float)v).ToArray(), sets[9].Set.Take(3).ToArray());
            CollectionAssert.AreEqual(new[] { 0.8148148059844971f, 0.9629629850387573f, 0.7843137383460999f }, sets[10].Set.Skip(45).Take(3).ToArray());
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    [DataRow(FashionMnistSplit.Train, 0UL, 30000, 51521.61701398343, 2602360.385562051, new[] { 0.6666666865348816, 0.8148148059844971, 0.7647058963775635 })]
    [DataRow(FashionMnistSplit.Test, 1UL, 29994, 51214.71983850375, 2588891.504130047, new[] { 0.7037037014961243, 0.5185185074806213, 0.7137255072593689 })]
    public void ReferenceSets_MatchThePyTorchScript_OnTheRealData_OrFailNamingTheInstallCommand(FashionMnistSplit split, ulong seed, int elements, double sum, double positionWeightedSum, double[] lastSetFirstElement)
    {
        if (!FashionMnist.IsInstalled())
        {
            var ex = Assert.ThrowsExactly<FashionMnistMissingException>(() => FashionMnist.Load(split, 300));
            StringAssert.Contains(ex.Message, FashionMnist.InstallCommand);
            return;
        }
        // Reference: x, m = point_sets(images[:300], 100, 3, seed); m.sum(), (x*m).sum(), (x*position*m).sum(), x[299, 0]
        var sets = FashionPointSets.LoadReference(FashionMnist.Load(split, 300), 100, seed);
        Assert.AreEqual(elements, sets.Sum(s => s.Set.Length / 3));
        AssertSums(sets, sum, positionWeightedSum);
        CollectionAssert.AreEqual(lastSetFirstElement.Select(v => (float)v).ToArray(), sets[299].Set.Take(3).ToArray());
    }

    private static void AssertSums(IEnumerable<LabelledSet> sets, double sum, double positionWeightedSum)
    {
        double total = 0, weighted = 0;
        foreach (var s in sets)
            for (int i = 0; i < s.Set.Length; i++) { total += s.Set[i]; weighted += s.Set[i] * (double)(i / 3 + 1); }
        Assert.AreEqual(sum, total, 1e-7 * sum);
        Assert.AreEqual(positionWeightedSum, weighted, 1e-7 * positionWeightedSum);
    }
}
