namespace SetML.Samples.Distributed;

/// <summary>
/// A huge synthetic set that is never held in one place: partition <c>i</c> (a fixed number of elements) is drawn from
/// its own generator seeded by (seed, i), so any worker can produce any partition, and a single process can produce the
/// same partitions to check the distributed result. Values are uniform in [−1, 1).
/// </summary>
public static class SyntheticSet
{
    /// <summary>The <paramref name="elements"/>·<paramref name="dimension"/> values of partition <paramref name="index"/>.</summary>
    public static float[] Partition(long seed, long index, int elements, int dimension)
    {
        if (elements < 0 || dimension < 1) throw new ArgumentOutOfRangeException(nameof(elements), "A partition needs ≥ 0 elements of dimension ≥ 1.");
        var rng = new Random(Mix(seed, index));                          // the same partition in every process
        var values = new float[(long)elements * dimension];
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextSingle() * 2 - 1;
        return values;
    }

    /// <summary>A 31-bit seed from (seed, index) by SplitMix64 (HashCode.Combine is randomized per process).</summary>
    private static int Mix(long seed, long index)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }

    /// <summary>The partitions of a set of <paramref name="totalElements"/> elements cut into parts of <paramref name="partitionElements"/> (the last may be smaller).</summary>
    public static IEnumerable<SyntheticPartition> Partitions(long seed, long totalElements, int partitionElements, int dimension)
    {
        if (partitionElements < 1) throw new ArgumentOutOfRangeException(nameof(partitionElements), partitionElements, "A partition needs at least one element.");
        long count = (totalElements + partitionElements - 1) / partitionElements;
        for (long i = 0; i < count; i++)
            yield return new SyntheticPartition(seed, i, (int)Math.Min(partitionElements, totalElements - i * partitionElements), dimension);
    }
}
