using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// The aggregation functions g ∈ {sum, mean, max, min} of a mini-batch consistent encoder (Slot Set Encoder, eq. 5:
/// <c>f(X) = g(f(X_1), …, f(X_p))</c>) split into three steps, so that a whole set and any partition of it go through
/// the SAME code: <see cref="Partial"/> aggregates one chunk without normalising, <see cref="Combine"/> merges two
/// partial states, and <see cref="Finish"/> turns the state and the element count into the result.
/// </summary>
/// <remarks>
/// A partial state of an empty chunk is 0 for sum/mean and −∞/+∞ for max/min (the neutral elements), so empty chunks
/// never change a result; <see cref="Finish"/> maps a set with no elements at all to 0, never to ±∞ or NaN.
/// </remarks>
public static class MiniBatchConsistentPooling
{
    /// <summary>
    /// Unnormalised aggregate over the element axis 1 of <c>values [B, n, …]</c>, ignoring padded elements
    /// (<c>mask [B, n]</c>): a sum for <see cref="PoolingKind.Sum"/> and <see cref="PoolingKind.Mean"/>, a max or min otherwise.
    /// </summary>
    public static Tensor Partial(Tensor values, Tensor mask, PoolingKind kind)
    {
        if (values.shape[1] == 0)                                  // an empty chunk: max/min cannot reduce over 0 elements
        {
            var shape = values.shape.Where((_, axis) => axis != 1).ToArray();
            return Empty(shape, kind, values.device).to(values.dtype);
        }
        using var scope = torch.NewDisposeScope();
        var m = mask;
        while (m.dim() < values.dim()) m = m.unsqueeze(-1);
        var padding = m.logical_not();
        // Explicit Scalars held to the end: an implicit temporary can be finalized while libtorch reads it
        // ("Expected false to be true", seen streaming 10^7 elements).
        using var fill = Neutral(kind).ToScalar();
        Tensor result = kind switch
        {
            PoolingKind.Sum or PoolingKind.Mean => values.masked_fill(padding, fill).sum(1),
            PoolingKind.Max => values.masked_fill(padding, fill).amax(new long[] { 1 }),
            PoolingKind.Min => values.masked_fill(padding, fill).amin(new long[] { 1 }),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The neutral partial state of shape <paramref name="shape"/> (what an empty chunk contributes).</summary>
    public static Tensor Empty(long[] shape, PoolingKind kind, Device? device = null)
    {
        using var fill = Neutral(kind).ToScalar();
        return torch.full(shape, fill, device: device);
    }

    /// <summary>The neutral element of g: 0 for sum/mean, −∞ for max, +∞ for min.</summary>
    private static float Neutral(PoolingKind kind) => kind switch
    {
        PoolingKind.Max => float.NegativeInfinity,
        PoolingKind.Min => float.PositiveInfinity,
        _ => 0f,
    };

    /// <summary>g(state, partial): the state after one more chunk.</summary>
    public static Tensor Combine(Tensor state, Tensor partial, PoolingKind kind) => kind switch
    {
        PoolingKind.Sum or PoolingKind.Mean => state.Plus(partial),
        PoolingKind.Max => torch.maximum(state, partial),
        PoolingKind.Min => torch.minimum(state, partial),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// The aggregate from a state and the number of elements per set <c>count [B]</c>: divides by the count for the mean,
    /// and gives 0 for sets without elements.
    /// </summary>
    public static Tensor Finish(Tensor state, Tensor count, PoolingKind kind)
    {
        using var scope = torch.NewDisposeScope();
        var c = count.to(state.dtype);
        while (c.dim() < state.dim()) c = c.unsqueeze(-1);
        using var zero = 0f.ToScalar();
        using var one = 1f.ToScalar();
        Tensor result = kind switch
        {
            PoolingKind.Sum => state.alias(),
            PoolingKind.Mean => state / c.clamp_min(one),
            _ => state.masked_fill(c.eq(zero), zero),
        };
        return result.MoveToOuterDisposeScope();
    }

    /// <summary><see cref="Finish"/>(<see cref="Partial"/>(values, mask), count): the aggregate of whole sets.</summary>
    public static Tensor Pool(Tensor values, Tensor mask, PoolingKind kind)
    {
        using var scope = torch.NewDisposeScope();
        var state = Partial(values, mask, kind);
        return Finish(state, mask.sum(1), kind).MoveToOuterDisposeScope();
    }
}
