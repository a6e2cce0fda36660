using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Training a mini-batch consistent encoder on sets too large for one forward/backward pass, with UMBC's unbiased
/// full-set gradient (Willette et al., "Scalable set encoding with universal mini-batch consistency and unbiased full
/// set gradient approximation", ICML 2023). The set's p chunks X_1 … X_p are all encoded, but only one, X_j with j drawn
/// uniformly, keeps its computation graph:
/// <code>
///   S        = g(s(X_1), …, s(X_p))                    every chunk under no_grad: the exact full-set state
///   S̃        = S + p · ∂(s(X_j) − sg(s(X_j)))           value S; gradient p·∂s(X_j)/∂θ       (sum, mean)
///   S̃        = S + p · 1[s(X_j) = S] ⊙ (s(X_j) − sg(…))  gradient only where chunk j attains the max/min
///   f(X)     = ρ(Finish(S̃))
/// </code>
/// The loss is evaluated at the exact full-set embedding, so ∂L/∂S is exact, and E_j[p·∂s(X_j)/∂θ] = Σ_j ∂s(X_j)/∂θ =
/// ∂S/∂θ (for max/min, ∂S/∂θ is the gradient of the chunk that attains each coordinate): the gradient is an unbiased
/// estimate of the full-set gradient, while activations are kept for one chunk only. The layers after the aggregation
/// (ρ, the upper levels of a hierarchical Slot Set Encoder, a head) get their exact gradient.
/// </summary>
/// <remarks>
/// Scaling by p is this implementation's choice for an unbiased estimator of the gradient of the full-set loss (the
/// paper's Algorithm keeps a subset of chunks with gradient; one chunk is the smallest memory). Ties between chunks for
/// max/min (equal values in two chunks) give each tied chunk the full gradient, where autograd would split it; with
/// continuous inputs ties do not occur. Under <c>torch.no_grad()</c> (validation), the sets are encoded chunk by chunk
/// exactly, without sampling.
/// </remarks>
internal static class ChunkedSetGradient
{
    /// <summary>Number of chunks p of a padded set axis of <paramref name="length"/> elements (at least 1).</summary>
    public static int ChunkCount(long length, int chunkSize)
    {
        if (chunkSize < 1) throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "The chunk size must be at least 1 element.");
        return (int)Math.Max(1, (length + chunkSize - 1) / chunkSize);
    }

    /// <summary>
    /// The embeddings <c>[B, D]</c> of <c>x [B, n, d]</c> (mask <c>[B, n]</c>), equal in value to
    /// <c>encoder.forward(x, mask)</c>, whose gradient is the unbiased estimate through a chunk drawn with <paramref name="random"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">The encoder is not mini-batch consistent.</exception>
    public static Tensor Encode(SetEncoder encoder, Tensor x, Tensor mask, int chunkSize, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int p = ChunkCount(x.shape[1], chunkSize);
        return Encode(encoder, x, mask, chunkSize, torch.is_grad_enabled() ? random.Next(p) : -1);
    }

    /// <summary>
    /// As <see cref="Encode(SetEncoder, Tensor, Tensor, int, Random)"/> with the chunk that keeps its gradient given:
    /// <paramref name="sampledChunk"/> ∈ [0, p), or −1 for none (exact value, no gradient through the elements).
    /// Averaging the gradients over all p chunks gives exactly the full-set gradient (this is what the tests check).
    /// </summary>
    public static Tensor Encode(SetEncoder encoder, Tensor x, Tensor mask, int chunkSize, int sampledChunk)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var mbc = StreamingSetEncoder.AsMiniBatchConsistent(encoder);
        int p = ChunkCount(x.shape[1], chunkSize);
        if (sampledChunk < -1 || sampledChunk >= p)
            throw new ArgumentOutOfRangeException(nameof(sampledChunk), sampledChunk, $"The sampled chunk must be in [0, {p}) (or −1 for none).");
        using var scope = torch.NewDisposeScope();
        var context = mbc.BeginStream((int)x.shape[0]);                              // one slot draw for all chunks
        Tensor? rest = null;                                                         // g over the chunks without gradient
        using (torch.no_grad())
        {
            var fixedContext = context?.detach();
            for (int c = 0; c < p; c++)
            {
                if (c == sampledChunk) continue;
                using var chunkScope = torch.NewDisposeScope();                     // activations of one chunk at a time
                var (xc, mc) = Chunk(x, mask, c, chunkSize);
                var partial = mbc.EncodeChunk(xc, mc, fixedContext);
                rest = (rest is null ? partial : MiniBatchConsistentPooling.Combine(rest, partial, mbc.StreamAggregation)).MoveToOuterDisposeScope();
            }
        }
        Tensor state;
        if (sampledChunk < 0) state = rest!;
        else
        {
            var (xj, mj) = Chunk(x, mask, sampledChunk, chunkSize);
            var sj = mbc.EncodeChunk(xj, mj, context);                               // s(X_j) with its graph
            var constant = sj.detach();
            var full = rest is null ? constant : MiniBatchConsistentPooling.Combine(rest, constant, mbc.StreamAggregation);
            var delta = sj - constant;                                               // 0 in value, ∂s(X_j) in gradient
            if (mbc.StreamAggregation is PoolingKind.Max or PoolingKind.Min)
            {
                var attains = constant.eq(full).logical_and(full.isfinite());         // where chunk j holds the max/min
                delta = torch.where(attains, delta, torch.zeros_like(delta));
            }
            using var scale = ((float)p).ToScalar();
            state = full.Plus(delta * scale);                                           // value S, gradient p·∂s(X_j)
        }
        var pooled = MiniBatchConsistentPooling.Finish(state, mask.sum(1), mbc.StreamAggregation);
        return mbc.FinishStream(pooled, context).MoveToOuterDisposeScope();
    }

    private static (Tensor X, Tensor Mask) Chunk(Tensor x, Tensor mask, int c, int chunkSize)
    {
        long start = (long)c * chunkSize, length = Math.Min(chunkSize, x.shape[1] - start);
        return (x.narrow(1, start, length), mask.narrow(1, start, length));
    }
}
