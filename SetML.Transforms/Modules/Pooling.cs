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
    public static Tensor Pool(Tensor x, Tensor mask, PoolingKind kind)
    {
        // size(d), not shape[d]: TorchSharp's shape getter leaves a finalizable array behind on every call.
        if (x.size(1) == 0) return torch.zeros(x.size(0), x.size(2), dtype: x.dtype, device: x.device);
        using var scope = torch.NewDisposeScope();
        // Fill values are explicit Scalars held until the end: an implicit temporary Scalar can be finalized by the GC
        // while libtorch still reads it (seen as "Expected false to be true ... toFloat" under memory pressure).
        using var zero = 0f.ToScalar();
        var m = mask.unsqueeze(-1);                        // [B, N, 1] bool
        Tensor result;
        switch (kind)
        {
            case PoolingKind.Sum:
                result = x.masked_fill(m.logical_not(), zero).sum(1);
                break;
            case PoolingKind.Mean:
                using (var one = 1f.ToScalar())
                {
                    var count = mask.sum(1, keepdim: true, type: x.dtype).clamp_min(one); // [B, 1]
                    result = x.masked_fill(m.logical_not(), zero).sum(1) / count;
                }
                break;
            case PoolingKind.Max:
            case PoolingKind.Min:
                bool isMax = kind == PoolingKind.Max;
                using (var fill = (isMax ? float.NegativeInfinity : float.PositiveInfinity).ToScalar())
                {
                    var filled = x.masked_fill(m.logical_not(), fill);
                    var pooled = isMax ? filled.amax(new long[] { 1 }) : filled.amin(new long[] { 1 });
                    var nonEmpty = mask.any(1).unsqueeze(-1);      // [B, 1]
                    result = pooled.masked_fill(nonEmpty.logical_not(), zero);
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Zeroes padded rows of <c>x [B, N, F]</c>.</summary>
    public static Tensor ZeroPadding(Tensor x, Tensor mask)
    {
        using var zero = 0f.ToScalar();
        return x.masked_fill(mask.unsqueeze(-1).logical_not(), zero);
    }
}
