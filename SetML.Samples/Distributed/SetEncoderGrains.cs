using Orleans.Concurrency;
using SetML.Modules;

namespace SetML.Samples.Distributed;

/// <summary>
/// A part of a synthetic set that the worker generates itself (so the data never travels): elements
/// <c>[Index·Elements, (Index+1)·Elements)</c> of the set drawn by <see cref="SyntheticSet"/> with <see cref="Seed"/>.
/// Stands for "the partition that lives on that machine" (a file shard, a table partition).
/// </summary>
/// <param name="Seed">Seed of the whole set.</param>
/// <param name="Index">Index of the partition.</param>
/// <param name="Elements">Number of elements in the partition.</param>
/// <param name="Dimension">Element dimension d.</param>
[GenerateSerializer, Immutable, Alias("SetML.SyntheticPartition")]
public sealed record SyntheticPartition([property: Id(0)] long Seed, [property: Id(1)] long Index, [property: Id(2)] int Elements, [property: Id(3)] int Dimension);

/// <summary>
/// Encodes one partition of a set into a <see cref="SetPartialState"/> (returned in its binary form,
/// <see cref="SetPartialState.ToBytes"/>). Implemented by a stateless worker, so any silo can serve any partition and a
/// silo may run several at once; the grain key is the partition index, which spreads the calls over the silos.
/// </summary>
[Alias("SetML.ISetPartitionEncoderGrain")]
public interface ISetPartitionEncoderGrain : IGrainWithIntegerKey
{
    /// <summary>The partial state of a partition sent by the caller: n·d values, element after element.</summary>
    [Alias("EncodeElements")]
    Task<byte[]> EncodeElements(float[] elements);

    /// <summary>The partial state of a partition generated on the worker (see <see cref="SyntheticPartition"/>).</summary>
    [Alias("EncodeSynthetic")]
    Task<byte[]> EncodeSynthetic(SyntheticPartition partition);
}

/// <summary>Merges two partial states (one node of the merge tree). Stateless; runs on any silo.</summary>
[Alias("SetML.ISetStateMergeGrain")]
public interface ISetStateMergeGrain : IGrainWithIntegerKey
{
    /// <summary><see cref="SetPartialState.Merge"/> of two states in binary form, in binary form.</summary>
    [Alias("Merge")]
    Task<byte[]> Merge(byte[] a, byte[] b);
}

/// <summary>The partition encoder: uses the silo's <see cref="SiloSetEncoder"/> (the model, loaded once per silo).</summary>
[StatelessWorker]
public sealed class SetPartitionEncoderGrain(SiloSetEncoder model) : Grain, ISetPartitionEncoderGrain
{
    /// <inheritdoc />
    public Task<byte[]> EncodeElements(float[] elements) => model.EncodeAsync(elements);

    /// <inheritdoc />
    public Task<byte[]> EncodeSynthetic(SyntheticPartition partition)
        => model.EncodeAsync(SyntheticSet.Partition(partition.Seed, partition.Index, partition.Elements, partition.Dimension));
}

/// <summary>The merge step: pure CPU work on small arrays (no model needed).</summary>
[StatelessWorker]
public sealed class SetStateMergeGrain : Grain, ISetStateMergeGrain
{
    /// <inheritdoc />
    public Task<byte[]> Merge(byte[] a, byte[] b)
        => Task.FromResult(SetPartialState.Merge(SetPartialState.FromBytes(a), SetPartialState.FromBytes(b)).ToBytes());
}
