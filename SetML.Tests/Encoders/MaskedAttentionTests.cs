using SetML.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>
/// The attention core (libtorch's scaled_dot_product_attention) against the textbook formula
/// softmax(Q_j K_jᵀ / √(d/h)) V_j with −∞ on padded keys, and its empty-set behaviour.
/// </summary>
[TestClass]
public sealed class MaskedAttentionTests
{
    private const int B = 3, Nq = 4, Nk = 5, D = 8, H = 2;

    private static float[] Values(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    /// <summary>The formula written out: per head, softmax(QKᵀ/√(d/h)) with −∞ on padded keys, times V; empty sets → 0.</summary>
    private static float[] Textbook(Tensor q, Tensor k, Tensor v, bool[] keyMask)
    {
        float[] qv = Values(q), kv = Values(k), vv = Values(v);
        var o = new float[B * Nq * D];
        int dh = D / H;
        for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
        for (int i = 0; i < Nq; i++)
        {
            var logits = new double[Nk];
            for (int j = 0; j < Nk; j++)
            {
                double s = 0;
                for (int c = 0; c < dh; c++) s += qv[(b * Nq + i) * D + h * dh + c] * kv[(b * Nk + j) * D + h * dh + c];
                logits[j] = keyMask[b * Nk + j] ? s / Math.Sqrt(dh) : double.NegativeInfinity;
            }
            if (!Enumerable.Range(0, Nk).Any(j => keyMask[b * Nk + j])) continue; // empty set: zero output
            double max = logits.Max(), z = logits.Sum(l => Math.Exp(l - max));
            for (int c = 0; c < dh; c++)
                o[(b * Nq + i) * D + h * dh + c] = (float)Enumerable.Range(0, Nk).Sum(j => Math.Exp(logits[j] - max) / z * vv[(b * Nk + j) * D + h * dh + c]);
        }
        return o;
    }

    [TestMethod]
    public void MatchesTheFormulaWithItsScaleAndZeroesEmptySets()
    {
        using var scope = torch.NewDisposeScope();
        var g = new Generator(11);
        var q = torch.randn(new long[] { B, Nq, D }, generator: g).requires_grad_();
        var k = torch.randn(new long[] { B, Nk, D }, generator: g).requires_grad_();
        var v = torch.randn(new long[] { B, Nk, D }, generator: g).requires_grad_();
        // set 0 full, set 1 with 2 padded keys, set 2 empty
        var maskValues = new[] { true, true, true, true, true, true, true, true, false, false, false, false, false, false, false };
        var mask = torch.tensor(maskValues, new long[] { B, Nk });

        var output = MaskedAttention.Multihead(q, k, v, H, mask);
        var expected = Textbook(q, k, v, maskValues);
        var actual = Values(output);
        for (int i = 0; i < actual.Length; i++) Assert.AreEqual(expected[i], actual[i], 1e-5, $"output {i}");
        Assert.IsTrue(actual.Skip(2 * Nq * D).All(x => x == 0f), "an empty set's attention output is exactly 0");

        var unmasked = MaskedAttention.Multihead(q, k, v, H, null);
        var expectedUnmasked = Textbook(q, k, v, Enumerable.Repeat(true, B * Nk).ToArray());
        var actualUnmasked = Values(unmasked);
        for (int i = 0; i < actualUnmasked.Length; i++) Assert.AreEqual(expectedUnmasked[i], actualUnmasked[i], 1e-5, $"unmasked output {i}");

        // gradients are finite everywhere, and nothing flows into the empty set's or the padded keys' values
        output.square().sum().backward();
        foreach (var (name, t) in new[] { ("q", q), ("k", k), ("v", v) })
            Assert.IsTrue(Values(t.grad!).All(float.IsFinite), $"gradient of {name} must be finite");
        var vGrad = Values(v.grad!);
        Assert.IsTrue(vGrad.Skip(Nk * D + 3 * D).Take(2 * D).All(x => x == 0f), "padded keys of set 1 get no gradient");
        Assert.IsTrue(vGrad.Skip(2 * Nk * D).All(x => x == 0f), "the empty set's values get no gradient");
    }

    [TestMethod]
    public void AllEmptyBatchGivesZeros()
    {
        using var scope = torch.NewDisposeScope();
        var q = torch.ones(2, 3, D).requires_grad_();
        var k = torch.ones(2, 4, D).requires_grad_();
        var mask = torch.zeros(2, 4, dtype: ScalarType.Bool);
        var output = MaskedAttention.Multihead(q, k, k, H, mask);
        Assert.IsTrue(Values(output).All(x => x == 0f));
        output.sum().backward();
        Assert.IsTrue(Values(q.grad!).All(float.IsFinite) && Values(k.grad!).All(float.IsFinite));
    }
}
