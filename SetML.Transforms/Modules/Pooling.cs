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
        using var scope = torch.NewDisposeScope();
        var padding = mask.unsqueeze(-1).logical_not();   // [B, N, 1] bool, true for padded elements
        // Without autograd, temporaries (and x, when it is the caller's) are overwritten instead of copied.
        bool noGrad = !torch.is_grad_enabled(), inPlace = overwriteInput && noGrad;
        Tensor Filled(Scalar value) => inPlace ? x.masked_fill_(padding, value) : x.masked_fill(padding, value);
        Tensor result;
        switch (kind)
        {
            case PoolingKind.Sum:
                result = Filled(ScalarOps.Zero).sum(1);
                break;
            case PoolingKind.Mean:
                var count = mask.sum(1, keepdim: true, type: x.dtype).clamp_min(ScalarOps.One); // [B, 1]
                var sum = Filled(ScalarOps.Zero).sum(1);
                result = noGrad ? sum.div_(count) : sum.div(count);
                break;
            case PoolingKind.Max:
            case PoolingKind.Min:
                bool isMax = kind == PoolingKind.Max;
                var filled = Filled(isMax ? ScalarOps.MinusInfinity : ScalarOps.PlusInfinity);
                var pooled = isMax ? filled.amax(new long[] { 1 }) : filled.amin(new long[] { 1 });
                var empty = mask.any(1).unsqueeze(-1).logical_not();      // [B, 1]
                result = noGrad ? pooled.masked_fill_(empty, ScalarOps.Zero) : pooled.masked_fill(empty, ScalarOps.Zero);   // amax's backward reads its output
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Zeroes padded rows of <c>x [B, N, F]</c>.</summary>
    public static Tensor ZeroPadding(Tensor x, Tensor mask)
    {
        using var padding = mask.unsqueeze(-1);
        using var notPadding = padding.logical_not();
        return x.masked_fill(notPadding, ScalarOps.Zero);
    }
}
