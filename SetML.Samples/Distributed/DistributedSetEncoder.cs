using SetML.Modules;

namespace SetML.Samples.Distributed;

/// <summary>
/// The client side of distributed set encoding: sends the partitions of a set to <see cref="ISetPartitionEncoderGrain"/>
/// workers (at most <see cref="MaxInFlight"/> at a time), and merges the returned partial states as a balanced binary
/// tree on <see cref="ISetStateMergeGrain"/> workers, level by level, the pairs of a level in parallel. The result is the
/// merged <see cref="SetPartialState"/>; <see cref="PartialSetEncoder.Finish"/> (with the same model) gives the embedding.
/// </summary>
/// <param name="grains">The cluster (an <c>IClusterClient</c>, or a grain's <c>GrainFactory</c>).</param>
/// <param name="maxInFlight">Partitions being encoded at once over the whole cluster (e.g. silos × encodes per silo × 2).</param>
public sealed class DistributedSetEncoder(IGrainFactory grains, int maxInFlight)
{
    /// <summary>Partitions being encoded at once.</summary>
    public int MaxInFlight { get; } = maxInFlight >= 1 ? maxInFlight : throw new ArgumentOutOfRangeException(nameof(maxInFlight), maxInFlight, "At least one partition in flight.");

    /// <summary>Encodes a set whose partitions the caller holds (each n·d values) and merges them.</summary>
    public Task<SetPartialState> EncodeAsync(IEnumerable<float[]> partitions, CancellationToken cancellation = default)
        => Run(partitions.Select((p, i) => (Func<Task<byte[]>>)(() => grains.GetGrain<ISetPartitionEncoderGrain>(i).EncodeElements(p))), cancellation);

    /// <summary>Encodes a set whose partitions are generated on the workers (<see cref="SyntheticPartition"/>) and merges them.</summary>
    public Task<SetPartialState> EncodeAsync(IEnumerable<SyntheticPartition> partitions, CancellationToken cancellation = default)
        => Run(partitions.Select(p => (Func<Task<byte[]>>)(() => grains.GetGrain<ISetPartitionEncoderGrain>(p.Index).EncodeSynthetic(p))), cancellation);

    private async Task<SetPartialState> Run(IEnumerable<Func<Task<byte[]>>> calls, CancellationToken cancellation)
    {
        using var gate = new SemaphoreSlim(MaxInFlight);
        var pending = new List<Task<byte[]>>();
        foreach (var call in calls)
        {
            await gate.WaitAsync(cancellation).ConfigureAwait(false);
            pending.Add(Release(call(), gate));
        }
        var states = await Task.WhenAll(pending).ConfigureAwait(false);
        if (states.Length == 0) throw new ArgumentException("The set has no partition to encode.", nameof(calls));
        return SetPartialState.FromBytes(await MergeTreeAsync(states).ConfigureAwait(false));
    }

    private static async Task<byte[]> Release(Task<byte[]> work, SemaphoreSlim gate)
    {
        try { return await work.ConfigureAwait(false); }
        finally { gate.Release(); }
    }

    /// <summary>Merges states (binary form) as a balanced binary tree on the merge grains.</summary>
    public async Task<byte[]> MergeTreeAsync(IReadOnlyList<byte[]> states)
    {
        var level = states.ToArray();
        long node = 0;
        while (level.Length > 1)
        {
            var next = new Task<byte[]>[(level.Length + 1) / 2];
            for (int i = 0; i < level.Length / 2; i++)
                next[i] = grains.GetGrain<ISetStateMergeGrain>(node++).Merge(level[2 * i], level[2 * i + 1]);
            if (level.Length % 2 == 1) next[^1] = Task.FromResult(level[^1]);
            level = await Task.WhenAll(next).ConfigureAwait(false);
        }
        return level[0];
    }
}
