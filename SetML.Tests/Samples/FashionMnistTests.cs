using SetML.Samples.Data;

namespace SetML.Tests.Samples;

/// <summary>The Fashion-MNIST loader and DSPN's image → point-set conversion.</summary>
[TestClass]
public sealed class FashionMnistTests
{
    [TestMethod]
    public void PointSetKeepsPixelsAboveTheMeanScaledToUnitSquare()
    {
        var image = new byte[FashionMnist.PixelCount];
        image[0] = 255;                      // row 0, column 0  → (0, 1)
        image[27 * 28 + 27] = 200;           // row 27, column 27 → (1, 0)
        image[14 * 28 + 1] = 1;              // above the mean (≈ 0.58)? no: 1 > 0.58, so kept → (1/27, 1 − 14/27)
        var set = FashionMnist.ToPointSet(image);
        CollectionAssert.AreEqual(new[] { 0f, 1f, 1f / 27, 1f - 14f / 27, 1f, 0f }, set);
    }

    [TestMethod]
    public void BlankImageGivesEmptySet()
        => Assert.AreEqual(0, FashionMnist.ToPointSet(new byte[FashionMnist.PixelCount]).Length);

    [TestMethod]
    public void MissingDataNamesTheInstallCommand()
    {
        var ex = Assert.ThrowsExactly<FashionMnistMissingException>(() =>
            FashionMnist.Load(FashionMnistSplit.Test, 10, Path.Combine(Path.GetTempPath(), "no-fashion-mnist-here")));
        StringAssert.Contains(ex.Message, "sudo apt-get install dataset-fashion-mnist");
    }

    [TestMethod]
    public void LoadsInstalledImagesWithLabelsAndPointSets()
    {
        if (!FashionMnist.IsInstalled()) Assert.Inconclusive($"Fashion-MNIST is not installed ({FashionMnist.InstallCommand}).");
        var data = FashionMnist.Load(FashionMnistSplit.Test, 200);
        Assert.AreEqual(200, data.Count);
        Assert.AreEqual(9, data.Label(0));   // the first test image of Fashion-MNIST is an ankle boot
        var labels = Enumerable.Range(0, data.Count).Select(data.Label).Distinct().Count();
        Assert.AreEqual(10, labels);
        for (int i = 0; i < data.Count; i++)
        {
            var set = data.PointSet(i);
            Assert.AreEqual(0, set.Length % 2);
            Assert.IsTrue(set.Length / 2 is > 10 and < FashionMnist.PixelCount);
            Assert.IsTrue(set.All(v => v is >= 0 and <= 1));
        }
    }
}
