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
    // The element axis of [B, N, F], for amax/amin (read only; one array instead of one per call).
    private static readonly long[] ElementAxis = { 1 };

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
        bool noGrad = !torch.is_grad_enabled();
        // No padding at all (a single set, a batch of equal sizes): nothing to fill and no empty set, so the pooling of
        // x as it is — the same values without the fill, and without its mask tensors.
        if (HasNoPadding(mask))
            return kind switch
            {
                PoolingKind.Sum => x.sum(1),
                PoolingKind.Mean => MeanOverMask(x.sum(1), mask, noGrad),
                PoolingKind.Max => x.amax(ElementAxis),
                PoolingKind.Min => x.amin(ElementAxis),
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
            };
        // [B, N, 1] bool, true for padded elements: one new tensor, reshaped in place.
        using var padding = mask.logical_not().unsqueeze_(-1);
        // Without autograd, temporaries (and x, when it is the caller's) are overwritten instead of copied.
        bool inPlace = overwriteInput && noGrad;
        switch (kind)
        {
            case PoolingKind.Sum:
                using (var copy = FillPadding(ScalarOps.Zero)) return (copy ?? x).sum(1);
            case PoolingKind.Mean:
                using (var copy = FillPadding(ScalarOps.Zero)) return MeanOverMask((copy ?? x).sum(1), mask, noGrad);
            case PoolingKind.Max:
            case PoolingKind.Min:
                bool isMax = kind == PoolingKind.Max;
                using (var empty = mask.any(1, keepdim: true).logical_not_())   // [B, 1]
                using (var copy = FillPadding(isMax ? ScalarOps.MinusInfinity : ScalarOps.PlusInfinity))
                {
                    var pooled = isMax ? (copy ?? x).amax(ElementAxis) : (copy ?? x).amin(ElementAxis);
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

    /// <summary>
    /// <paramref name="sum"/> <c>[B, F]</c> divided by each set's element count (at least 1, so an empty set's zero sum
    /// stays zero): in place without autograd, else a new tensor and <paramref name="sum"/> disposed.
    /// </summary>
    private static Tensor MeanOverMask(Tensor sum, Tensor mask, bool noGrad)
    {
        using var count = mask.sum(1, keepdim: true, type: sum.dtype).clamp_min_(ScalarOps.One);   // [B, 1]
        if (noGrad) return sum.div_(count);
        using (sum) return sum.div(count);
    }

    /// <summary>
    /// Whether a CPU mask marks every element real (no padding), read from its storage without a tensor or a device
    /// wait. A mask on another device counts as padded: the caller then takes the general path, which is correct for both.
    /// </summary>
    internal static bool HasNoPadding(Tensor mask)
        => mask.device_type == DeviceType.CPU && mask.dtype == ScalarType.Bool && mask.is_contiguous() && mask.numel() > 0
           && !mask.bytes.Contains((byte)0);

    /// <summary>Zeroes padded rows of <c>x [B, N, F]</c>.</summary>
    public static Tensor ZeroPadding(Tensor x, Tensor mask)
    {
        using var padding = mask.logical_not().unsqueeze_(-1);   // [B, N, 1], one new tensor
        return x.masked_fill(padding, ScalarOps.Zero);
    }
}
