using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// A set encoder that can encode a set chunk by chunk with the same result as encoding it at once (mini-batch
/// consistency, Andreis et al. 2021, Property 2.1): <c>f(X) = Finish(g(Partial(X_1), …, Partial(X_p)))</c>.
/// <see cref="StreamingSetEncoder"/> drives the protocol; an encoder only says how to encode one chunk.
/// </summary>
public interface IMiniBatchConsistentEncoder
{
    /// <summary>The aggregation g that merges chunk states (see <see cref="MiniBatchConsistentPooling"/>).</summary>
    PoolingKind StreamAggregation { get; }

    /// <summary>
    /// Anything that must be the same for every chunk of a stream of <paramref name="batchSize"/> sets (the Slot Set
    /// Encoder's slot draw), or null. Called once when a stream starts.
    /// </summary>
    Tensor? BeginStream(int batchSize);

    /// <summary>The unnormalised state of one chunk <c>x [B, n, d]</c>, <c>mask [B, n]</c>.</summary>
    Tensor EncodeChunk(Tensor x, Tensor mask, Tensor? context);

    /// <summary>The embedding <c>[B, D]</c> from the merged, finished state (after <see cref="MiniBatchConsistentPooling.Finish"/>).</summary>
    Tensor FinishStream(Tensor pooled, Tensor? context);
}
