using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Masked multi-head dot-product attention on padded sets (Set Transformer eq. 3–5, Vaswani et al. 2017):
/// <c>O_j = softmax(Q_j K_jᵀ / √(d/h)) V_j</c> for each head j, concatenated. The projections W^Q, W^K, W^V, W^O
/// live in <see cref="MultiheadAttentionBlock"/>; this is the parameter-free part.
/// </summary>
/// <remarks>
/// <para><b>Scale.</b> The paper writes softmax(·/√d); the authors' public code divides by √dim_V (the full width).
/// We divide by √(d/h), the per-head dimension, as the Transformer does (Vaswani et al. 2017, eq. 1 with
/// d_k = d_model/h, sec. 3.2.2), and as the paper's own definition of the per-head projections to d/h dimensions
/// (Set Transformer sec. 2.2, after eq. 5) suggests: it keeps each head's logits at unit variance whatever the number
/// of heads.</para>
/// <para><b>Masks.</b> Padded keys get exactly zero weight (their logits are −∞ before the softmax). A query whose
/// set has no real key at all (an empty set) gets zero weights everywhere, i.e. an attention output of 0, instead of
/// the NaN of a softmax over −∞ only; its gradient is finite as well.</para>
/// </remarks>
public static class MaskedAttention
{
    /// <summary>
    /// concat(O_1, …, O_h) for projected queries <c>q [B, nq, d]</c>, keys <c>k [B, nk, d]</c>, values <c>v [B, nk, d]</c>
    /// and an optional key mask <c>[B, nk]</c> (bool, true = real element; null = every key is real). Returns <c>[B, nq, d]</c>.
    /// </summary>
    /// <param name="q">Projected queries Q W^Q.</param>
    /// <param name="k">Projected keys K W^K.</param>
    /// <param name="v">Projected values V W^V.</param>
    /// <param name="heads">Number of heads h (must divide d).</param>
    /// <param name="keyMask">Which keys are real; null when none is padding.</param>
    public static Tensor Multihead(Tensor q, Tensor k, Tensor v, int heads, Tensor? keyMask)
    {
        using var scope = torch.NewDisposeScope();
        long b = q.shape[0], nq = q.shape[1], nk = k.shape[1], d = q.shape[2], dh = d / heads;
        var qh = q.view(b, nq, heads, dh).transpose(1, 2);          // [B, h, nq, dh]
        var kh = k.view(b, nk, heads, dh).transpose(1, 2);          // [B, h, nk, dh]
        var vh = v.view(b, nk, heads, dh).transpose(1, 2);          // [B, h, nk, dh]
        // libtorch's fused scaled_dot_product_attention: softmax(Q_j K_jᵀ / √(d/h)) V_j (its default scale is
        // 1/√(last dimension of Q) = 1/√(d/h), ours) without materialising the logits for the backward pass.
        Tensor o;
        if (keyMask is null) o = nn.functional.scaled_dot_product_attention(qh, kh, vh);
        else
        {
            var nonEmpty = keyMask.any(1).view(b, 1, 1, 1);
            // Padded keys take no part; a query of an empty set would have no key at all (a softmax over −∞ only:
            // NaN, NaN gradient), so it attends to its padding instead and its output is zeroed afterwards.
            var allowed = keyMask.view(b, 1, 1, nk).logical_or(nonEmpty.logical_not());
            o = nn.functional.scaled_dot_product_attention(qh, kh, vh, allowed).MaskedFillScalar(nonEmpty.logical_not(), 0);
        }
        return o.transpose(1, 2).reshape(b, nq, d).MoveToOuterDisposeScope(); // concat over heads
    }
}
