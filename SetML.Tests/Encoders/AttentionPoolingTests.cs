using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Foundation;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>Dot-product attention pooling ("rFF + Dotprod" of the Set Transformer paper).</summary>
[TestClass]
public sealed class AttentionPoolingTests
{
    private static AttentionPoolingEncoder Create() => EncoderChecks.Seeded(7, () => new AttentionPoolingEncoder(3, new AttentionPoolingOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, AttentionDimension = 4, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }));

    [TestMethod]
    public void InvariantPaddingSafeFinite()
    {
        using var e = Create();
        EncoderChecks.All(e);
    }

    [TestMethod]
    public void Weights_SumToOneOverRealElements_ZeroAtPaddingAndForEmptySets()
    {
        using var e = Create();
        e.eval();
        using var _ = torch.no_grad();
        var rng = new Random(1);
        var (x, mask) = SetBatch.Pad(new[] { TestSets.RandomSet(rng, 4, 3), Array.Empty<float>(), TestSets.RandomSet(rng, 1, 3) }, 3, minimumLength: 6);
        using var a = e.Weights(x, mask);
        var w = a.data<float>().ToArray();
        Assert.AreEqual(1f, w[0..4].Sum(), 1e-5);
        Assert.IsTrue(w[4..6].All(v => v == 0) && w[6..12].All(v => v == 0), "padding and empty sets get no weight");
        Assert.AreEqual(1f, w[12], 1e-6);
    }

    [TestMethod]
    public void Gradient_IsFiniteForEmptySets()
    {
        using var e = Create();
        e.train();
        var (x, mask) = SetBatch.Pad(new[] { Array.Empty<float>(), TestSets.RandomSet(new Random(2), 3, 3) }, 3);
        e.forward(x, mask).sum().backward();
        Assert.IsTrue(e.parameters().All(p => p.grad is null || p.grad.isfinite().all().item<bool>()));
    }
}
