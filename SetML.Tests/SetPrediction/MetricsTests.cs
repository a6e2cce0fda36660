using SetML.Losses;

namespace SetML.Tests.SetPrediction;

[TestClass]
public sealed class MetricsTests
{
    [TestMethod]
    public void ChamferAndMatchedErrorOnAKnownExample()
    {
        var p = new float[] { 0, 0, 1, 0 };
        var t = new float[] { 0, 0, 0, 1, 1, 0 };
        // p→t: 0 + 0; t→p: 0 + 1 + 0 → mean 1/3.
        Assert.AreEqual(1.0 / 3, SetMetrics.Chamfer(p, t, 2)!.Value, 1e-12);
        Assert.AreEqual(0.0, SetMetrics.Chamfer(Array.Empty<float>(), Array.Empty<float>(), 2));
        Assert.IsNull(SetMetrics.Chamfer(Array.Empty<float>(), t, 2));
        var (sum, pairs) = SetMetrics.MatchedSquaredError(new float[] { 1, 0, 0, 0 }, t, 2);
        Assert.AreEqual(0.0, sum, 1e-12);
        Assert.AreEqual(2, pairs);
    }

    [TestMethod]
    public void AveragePrecisionOfBoxes()
    {
        var truth = new List<float[]> { new float[] { 0, 0, 1, 1, 2, 2, 3, 3 }, new float[] { 0, 0, 0.5f, 0.5f } };
        Assert.AreEqual(1.0, SetMetrics.AveragePrecision(truth, null, truth, 4, ElementMatch.BoxIoU, 0.99), 1e-12);
        // Shifted box: IoU 0.9/1.1 = 0.818 → correct at 0.5, not at 0.9 (then precision 0, 1/2, 2/3 at recall 0, 1/3, 2/3: AP 4/9).
        var shifted = new List<float[]> { new float[] { 0.1f, 0, 1.1f, 1, 2, 2, 3, 3 }, truth[1] };
        Assert.AreEqual(1.0, SetMetrics.AveragePrecision(shifted, null, truth, 4, ElementMatch.BoxIoU, 0.5), 1e-12);
        Assert.AreEqual(4.0 / 9, SetMetrics.AveragePrecision(shifted, null, truth, 4, ElementMatch.BoxIoU, 0.9), 1e-6);
        // A duplicate with low confidence is a false positive ranked last: AP stays 1. Ranked first it costs precision.
        var dup = new List<float[]> { truth[0].Concat(new float[] { 0, 0, 1, 1 }).ToArray(), truth[1] };
        Assert.AreEqual(1.0, SetMetrics.AveragePrecision(dup, new List<float[]> { new[] { 1f, 1, 0.1f }, new[] { 1f } }, truth, 4, ElementMatch.BoxIoU, 0.9), 1e-12);
        Assert.AreEqual(5.0 / 6, SetMetrics.AveragePrecision(dup, new List<float[]> { new[] { 0.5f, 0.5f, 1f }, new[] { 0.4f } }, truth, 4, ElementMatch.BoxIoU, 0.9), 1e-6);
        Assert.AreEqual(0.5, SetMetrics.AveragePrecision(new List<float[]> { truth[0], Array.Empty<float>() }, null, new List<float[]> { truth[0], new float[] { 5, 5, 6, 6, 7, 7, 8, 8 } }, 4, ElementMatch.BoxIoU, 0.5), 1e-12);
    }

    [TestMethod]
    public void AveragePrecisionOfPointsUsesDistance()
    {
        var truth = new List<float[]> { new float[] { 0, 0, 9, 1, 1, 9 } };
        var pred = new List<float[]> { new float[] { 0.2f, 0, 5, 1, 1.6f, 5 } };
        Assert.AreEqual(0.5, SetMetrics.AveragePrecision(pred, null, truth, 3, ElementMatch.Distance, 0.25, distanceFeatures: 2), 1e-12);
        Assert.AreEqual(1.0, SetMetrics.AveragePrecision(pred, null, truth, 3, ElementMatch.Distance, 1, distanceFeatures: 2), 1e-12);
        Assert.AreEqual(1.0, SetMetrics.AveragePrecision(pred, null, truth, 3, ElementMatch.Distance, double.PositiveInfinity), 1e-12);
    }

    [TestMethod]
    public void IoUAndSizeMetrics()
    {
        Assert.AreEqual(1.0 / 7, SetMetrics.IoU(new float[] { 0, 0, 2, 2 }, new float[] { 1, 1, 3, 3 }), 1e-12);
        Assert.AreEqual(0.0, SetMetrics.IoU(new float[] { 0, 0, 0, 0 }, new float[] { 0, 0, 0, 0 }));
        var m = SetPredictionMetrics.Compute(new List<float[]> { new float[] { 0, 0 }, Array.Empty<float>() }, null,
            new List<float[]> { new float[] { 0, 0 }, new float[] { 1, 1 } }, 2, ElementMatch.Distance, new[] { 0.1 });
        Assert.AreEqual(0.5, m.SetSizeAccuracy);
        Assert.AreEqual(0.5, m.MeanAbsoluteSizeError);
        Assert.AreEqual(1, m.EmptyPredictionRows);
        Assert.AreEqual(0.0, m.Chamfer);
        Assert.AreEqual(0.5, m.AveragePrecision[0.1], 1e-12);
    }
}
