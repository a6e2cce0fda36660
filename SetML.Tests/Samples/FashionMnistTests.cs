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
    public void LoadsIdxFiles_LabelsAndPointSets()
    {
        // Three synthetic 28×28 images in the IDX .gz format of the Debian package: the loader is tested with or without it.
        var dir = Directory.CreateTempSubdirectory("setml-idx-").FullName;
        try
        {
            var images = new byte[3 * 784];
            for (int i = 0; i < 3; i++) for (int p = 0; p < 10 * (i + 2); p++) images[i * 784 + p * 7 % 784] = 255;
            WriteIdx(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), 0x00000803, new[] { 3, 28, 28 }, images);
            WriteIdx(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"), 0x00000801, new[] { 3 }, new byte[] { 9, 0, 4 });
            var data = FashionMnist.Load(FashionMnistSplit.Test, null, dir);
            Assert.AreEqual(3, data.Count);
            CollectionAssert.AreEqual(new[] { 9, 0, 4 }, Enumerable.Range(0, 3).Select(i => (int)data.Label(i)).ToArray());
            for (int i = 0; i < 3; i++)
            {
                var set = data.PointSet(i);
                Assert.AreEqual(2 * 10 * (i + 2), set.Length, $"image {i}: one point per bright pixel");
                Assert.IsTrue(set.All(v => v is >= 0 and <= 1));
            }
            Assert.AreEqual(2, FashionMnist.Load(FashionMnistSplit.Test, 2, dir).Count);
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void InstalledPackage_LoadsTheRealTestSet_OrFailsNamingTheInstallCommand()
    {
        if (!FashionMnist.IsInstalled())
        {
            var ex = Assert.ThrowsExactly<FashionMnistMissingException>(() => FashionMnist.Load(FashionMnistSplit.Test, 10));
            StringAssert.Contains(ex.Message, FashionMnist.InstallCommand);
            return;
        }
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

    internal static void WriteIdx(string path, int magic, int[] dims, byte[] payload)
    {
        using var file = File.Create(path);
        using var gz = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest);
        void BigEndian(int v) => gz.Write(new[] { (byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v });
        BigEndian(magic);
        foreach (var d in dims) BigEndian(d);
        gz.Write(payload);
    }
}
