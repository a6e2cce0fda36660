using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>A symmetric pooling of a set's elements, feature-wise.</summary>
public enum PoolingKind
{
    /// <summary>Σ_i x_i (Deep Sets' sum decomposition).</summary>
    Sum,
    /// <summary>(1/n) Σ_i x_i; 0 for an empty set.</summary>
    Mean,
    /// <summary>max_i x_i; 0 for an empty set.</summary>
    Max,
    /// <summary>min_i x_i; 0 for an empty set.</summary>
    Min,
}

/// <summary>
/// Mask-aware pooling over the element axis. Padded elements never contribute; empty sets give zeros
/// (never NaN or ±inf), which is the convention of every SetML encoder.
/// </summary>
public static class MaskedPooling
{
    /// <summary>Pools <c>x [B, N, F]</c> over N using <c>mask [B, N]</c> → <c>[B, F]</c>.</summary>
    public static Tensor Pool(Tensor x, Tensor mask, PoolingKind kind) => Pool(x, mask, kind, overwriteInput: false);

    /// <summary>
    /// <see cref="Pool(Tensor, Tensor, PoolingKind)"/>, told whether <paramref name="x"/> is the caller's temporary, which
    /// pooling may overwrite where autograd is off (prediction): its padded positions are then filled in place, one
    /// tensor fewer. Where autograd is on, <paramref name="x"/> is never overwritten.
    /// </summary>
    internal static Tensor Pool(Tensor x, Tensor mask, PoolingKind kind, bool overwriteInput)
    {
        // size(d), not shape[d]: TorchSharp's shape getter leaves a finalizable array behind on every call.
        if (x.size(1) == 0) return torch.zeros(x.size(0), x.size(2), dtype: x.dtype, device: x.device);
        // Temporaries are disposed as they go rather than by a dispose scope: a scope is a HashSet per call, most of
        // the garbage of a single-row prediction (docs/performance.md, "prediction").
        // [B, N, 1] bool, true for padded elements: one new tensor, reshaped in place.
        using var padding = mask.logical_not().unsqueeze_(-1);
        // Without autograd, temporaries (and x, when it is the caller's) are overwritten instead of copied.
        bool noGrad = !torch.is_grad_enabled(), inPlace = overwriteInput && noGrad;
        switch (kind)
        {
            case PoolingKind.Sum:
                using (var copy = FillPadding(ScalarOps.Zero)) return (copy ?? x).sum(1);
            case PoolingKind.Mean:
                using (var count = mask.sum(1, keepdim: true, type: x.dtype).clamp_min_(ScalarOps.One))   // [B, 1]
                using (var copy = FillPadding(ScalarOps.Zero))
                {
                    var sum = (copy ?? x).sum(1);
                    if (noGrad) return sum.div_(count);
                    using (sum) return sum.div(count);
                }
            case PoolingKind.Max:
            case PoolingKind.Min:
                bool isMax = kind == PoolingKind.Max;
                using (var empty = mask.any(1, keepdim: true).logical_not_())   // [B, 1]
                using (var copy = FillPadding(isMax ? ScalarOps.MinusInfinity : ScalarOps.PlusInfinity))
                {
                    var pooled = isMax ? (copy ?? x).amax(new long[] { 1 }) : (copy ?? x).amin(new long[] { 1 });
                    if (noGrad) return pooled.masked_fill_(empty, ScalarOps.Zero);
                    using (pooled) return pooled.masked_fill(empty, ScalarOps.Zero);   // amax's backward reads its output
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        // Sets the padded elements to value: in x itself (null returned) or in a new copy, which the caller disposes.
        Tensor? FillPadding(Scalar value)
        {
            if (!inPlace) return x.masked_fill(padding, value);
            x.masked_fill_(padding, value);
            return null;
        }
    }

    /// <summary>Zeroes padded rows of <c>x [B, N, F]</c>.</summary>
    public static Tensor ZeroPadding(Tensor x, Tensor mask)
    {
        using var padding = mask.unsqueeze(-1);
        using var notPadding = padding.logical_not();
        return x.masked_fill(notPadding, ScalarOps.Zero);
    }
}
