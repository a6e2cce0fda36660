using System.Text.Json;
using SetML.Models;
using SetML.Modules;
using SetML.Tests.Foundation;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>FSPool (Zhang et al. 2019): PyTorch fixture, masks, invariances.</summary>
[TestClass]
public sealed class FSPoolTests
{
    [TestMethod]
    public void MatchesPyTorchFixture_VariableSizesInOnePaddedBatch()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(EncoderChecks.FixturePath("sse_fspool_fixture.json")));
        int cases = 0;
        foreach (var c in doc.RootElement.GetProperty("fspool").EnumerateArray())
        {
            int features = c.GetProperty("features").GetInt32();
            using var pool = new FSPool(features, c.GetProperty("pieces").GetInt32());
            SlotSetEncoderTests.LoadParameters(pool, JsonDocument.Parse($"{{\"weight\": {c.GetProperty("weight").GetRawText()}}}").RootElement);
            var sets = c.GetProperty("sets").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
            var expected = c.GetProperty("expected").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
            var actual = EncoderChecks.Encode(pool, sets, features, minimumLength: 30);
            for (int i = 0; i < sets.Count; i++)
                EncoderChecks.AssertClose(expected[i], actual[i], 1e-5, $"FSPool C={features}, set {i} (n = {sets[i].Length / features})");
            cases++;
        }
        Assert.AreEqual(2, cases);
    }

    [TestMethod]
    public void SingleElementUsesTheFirstKnot_EmptySetIsZero()
    {
        using var pool = EncoderChecks.Seeded(2, () => new FSPool(3, 4));
        var x = new[] { 0.5f, -2f, 3f };
        var y = EncoderChecks.Encode(pool, new[] { x, Array.Empty<float>() }, 3);
        var w = pool.parameters().Single().detach().cpu().data<float>().ToArray();     // [C, P+1]
        for (int c = 0; c < 3; c++) Assert.AreEqual(x[c] * w[c * 5], y[0][c], 1e-5, $"channel {c}");
        CollectionAssert.AreEqual(new float[3], y[1]);
    }

    [TestMethod]
    public void Encoder_InvariantPaddingSafeFinite()
    {
        using var e = EncoderChecks.Seeded(3, () => new FSPoolEncoder(3, new FSPoolOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, Pieces = 20, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 5 }));
        EncoderChecks.All(e);
        Assert.AreEqual(new FSPoolOptions().EmbeddingDimension, new FSPoolOptions().CreateEmbeddingDimension(3));
        Assert.ThrowsExactly<ArgumentException>(() => new FSPoolOptions { Pieces = 0 }.CreateEncoder(3));
    }

    [TestMethod]
    public void Gradient_IsFiniteWithPaddingAndEmptySets()
    {
        using var e = EncoderChecks.Seeded(3, () => new FSPoolEncoder(2, new FSPoolOptions { PhiHiddenSizes = new[] { 4 }, LatentDimension = 4, Pieces = 5, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 2 }));
        e.train();
        var (x, mask) = SetML.SetColumns.SetBatch.Pad(new[] { new[] { 1f, 2f, 3f, 4f }, Array.Empty<float>() }, 2, minimumLength: 4);
        var loss = e.forward(x, mask).sum();
        loss.backward();
        foreach (var p in e.parameters())
            Assert.IsTrue(p.grad is not null && p.grad.isfinite().all().item<bool>(), "non-finite gradient");
    }
}
