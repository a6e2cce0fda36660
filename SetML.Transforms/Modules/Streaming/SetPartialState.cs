using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace SetML.Modules;

/// <summary>
/// The partial state of a mini-batch consistent encoder after some of a set's elements (one part of a partition): the
/// unnormalised aggregate g over the parts' encodings (<see cref="MiniBatchConsistentPooling.Partial"/>) and the number
/// of elements per set. Partial states of disjoint parts of the same sets merge with <see cref="Merge"/> (associative and
/// commutative), and <see cref="PartialSetEncoder.Finish"/> turns the merged state into the embedding, equal to encoding
/// the whole set at once. A state is plain CPU data (no tensors), so it can be sent between processes and machines:
/// <see cref="ToBytes"/> / <see cref="FromBytes"/>.
/// </summary>
/// <remarks>
/// Every state carries the identity of the encoder that produced it (<see cref="ModelId"/>, a hash of the architecture,
/// the weights and the prediction-time slot draw), so merging states of different models fails instead of giving a
/// meaningless embedding. Merging is exact for max/min and equal up to float summation order for sum/mean.
/// </remarks>
public sealed class SetPartialState
{
    /// <summary>Version of the binary form written by <see cref="ToBytes"/>. A reader refuses newer versions.</summary>
    public const int FormatVersion = 1;

    private static ReadOnlySpan<byte> Magic => "SMPS"u8;
    private readonly float[] values;
    private readonly long[] shape;
    private readonly long[] counts;

    /// <summary>Creates a state (the values are not copied; the caller gives up the arrays).</summary>
    internal SetPartialState(ulong modelId, PoolingKind aggregation, long[] shape, float[] values, long[] counts)
    {
        if (shape.Length < 2) throw new ArgumentException($"A partial state has shape [B, …] with at least 2 axes, not [{string.Join(", ", shape)}].", nameof(shape));
        if (shape[0] != counts.Length) throw new ArgumentException($"The state has {shape[0]} sets but {counts.Length} element counts.", nameof(counts));
        if (shape.Aggregate(1L, (a, b) => a * b) != values.Length)
            throw new ArgumentException($"The state shape [{string.Join(", ", shape)}] does not hold {values.Length} values.", nameof(values));
        ModelId = modelId;
        Aggregation = aggregation;
        this.shape = shape;
        this.values = values;
        this.counts = counts;
    }

    /// <summary>Identity of the encoder that produced the state (see <see cref="PartialSetEncoder.ModelId"/>).</summary>
    public ulong ModelId { get; }

    /// <summary>The aggregation g that <see cref="Merge"/> applies.</summary>
    public PoolingKind Aggregation { get; }

    /// <summary>Number of sets B the state is about (a state of one set has B = 1).</summary>
    public int BatchSize => counts.Length;

    /// <summary>Shape of the state, <c>[B, …]</c> (Deep Sets <c>[B, latent]</c>, Slot Set Encoder <c>[B, K, d̂]</c>).</summary>
    public IReadOnlyList<long> Shape => shape;

    /// <summary>The aggregate, row-major in <see cref="Shape"/> (±∞ where max/min have seen no element yet).</summary>
    public ReadOnlySpan<float> Values => values;

    /// <summary>Number of elements of each set that the state has seen.</summary>
    public IReadOnlyList<long> ElementCounts => counts;

    /// <summary>Elements seen, all sets together.</summary>
    public long ElementCount => counts.Sum();

    /// <summary>
    /// g(a, b): the state of the union of the (disjoint) parts <paramref name="a"/> and <paramref name="b"/> have seen.
    /// Associative and commutative, so parts can be merged in any order and tree.
    /// </summary>
    /// <exception cref="ArgumentException">The states come from different models, aggregations, shapes or batch sizes.</exception>
    public static SetPartialState Merge(SetPartialState a, SetPartialState b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.ModelId != b.ModelId)
            throw new ArgumentException(
                $"Cannot merge partial set states of different models: the first was encoded by model {a.ModelId:x16}, the second by model {b.ModelId:x16}. " +
                "Every part of a set must be encoded by the same trained encoder (same weights and slot draw); load the same model file on every worker.", nameof(b));
        if (a.Aggregation != b.Aggregation || !a.shape.AsSpan().SequenceEqual(b.shape))
            throw new ArgumentException(
                $"Cannot merge partial set states of shape [{string.Join(", ", a.shape)}] ({a.Aggregation}) and [{string.Join(", ", b.shape)}] ({b.Aggregation}): " +
                "both must describe the same batch of sets.", nameof(b));
        var merged = new float[a.values.Length];
        ReadOnlySpan<float> x = a.values, y = b.values;
        switch (a.Aggregation)
        {
            case PoolingKind.Sum or PoolingKind.Mean:
                for (int i = 0; i < merged.Length; i++) merged[i] = x[i] + y[i];
                break;
            case PoolingKind.Max:
                for (int i = 0; i < merged.Length; i++) merged[i] = Math.Max(x[i], y[i]);
                break;
            case PoolingKind.Min:
                for (int i = 0; i < merged.Length; i++) merged[i] = Math.Min(x[i], y[i]);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(a), a.Aggregation, "Unknown aggregation.");
        }
        var count = new long[a.counts.Length];
        for (int i = 0; i < count.Length; i++) count[i] = a.counts[i] + b.counts[i];
        return new SetPartialState(a.ModelId, a.Aggregation, (long[])a.shape.Clone(), merged, count);
    }

    /// <summary>Merges many states as a balanced binary tree (the order in which a distributed reduction combines them).</summary>
    /// <exception cref="ArgumentException">No state was given, or the states are not mergeable (see <see cref="Merge"/>).</exception>
    public static SetPartialState MergeTree(IReadOnlyList<SetPartialState> states)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count == 0) throw new ArgumentException("There is no partial state to merge.", nameof(states));
        var level = states.ToList();
        while (level.Count > 1)
        {
            var next = new List<SetPartialState>((level.Count + 1) / 2);
            for (int i = 0; i + 1 < level.Count; i += 2) next.Add(Merge(level[i], level[i + 1]));
            if (level.Count % 2 == 1) next.Add(level[^1]);
            level = next;
        }
        return level[0];
    }

    // Binary form, format version 1 (little-endian):
    //   byte[4]       "SMPS"
    //   int32         format version
    //   uint64        model identity (PartialSetEncoder.ModelId)
    //   int32         aggregation code: 0 sum, 1 mean, 2 max, 3 min
    //   int32         rank r (≥ 2)
    //   int64 × r     shape [B, …]
    //   int64 × B     element count per set
    //   float32 × Π   values, row-major
    //   uint64        XxHash64 of all bytes above (detects truncation and corruption)

    /// <summary>The compact binary form (layout written beside the code; about 4 bytes per state value).</summary>
    public byte[] ToBytes()
    {
        int size = 4 + 4 + 8 + 4 + 4 + 8 * shape.Length + 8 * counts.Length + 4 * values.Length + 8;
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        int at = 4;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], FormatVersion); at += 4;
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], ModelId); at += 8;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], AggregationCode(Aggregation)); at += 4;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], shape.Length); at += 4;
        foreach (var s in shape) { BinaryPrimitives.WriteInt64LittleEndian(span[at..], s); at += 8; }
        foreach (var c in counts) { BinaryPrimitives.WriteInt64LittleEndian(span[at..], c); at += 8; }
        foreach (var v in values) { BinaryPrimitives.WriteSingleLittleEndian(span[at..], v); at += 4; }
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], XxHash64.HashToUInt64(span[..at]));
        return bytes;
    }

    /// <summary>Reads a state written by <see cref="ToBytes"/>.</summary>
    /// <exception cref="FormatException">
    /// The bytes are not a partial set state, come from a newer format version, are truncated or corrupted (checksum).
    /// </exception>
    public static SetPartialState FromBytes(ReadOnlySpan<byte> bytes)
    {
        const int header = 4 + 4 + 8 + 4 + 4;
        if (bytes.Length < header + 8 || !bytes[..4].SequenceEqual(Magic))
            throw new FormatException($"These {bytes.Length} bytes are not a SetML partial set state (expected the 'SMPS' header).");
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
        if (version < 1 || version > FormatVersion)
            throw new FormatException($"The partial set state has format version {version}; this SetML reads versions 1 to {FormatVersion}. Upgrade SetML on this worker.");
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(bytes[^8..]);
        if (XxHash64.HashToUInt64(bytes[..^8]) != stored)
            throw new FormatException($"The partial set state ({bytes.Length} bytes) is truncated or corrupted: its checksum does not match.");
        ulong modelId = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        var aggregation = AggregationFromCode(BinaryPrimitives.ReadInt32LittleEndian(bytes[16..]));
        int rank = BinaryPrimitives.ReadInt32LittleEndian(bytes[20..]);
        if (rank < 2 || rank > 8 || bytes.Length < header + 8L * rank + 8)
            throw new FormatException($"The partial set state has an invalid rank {rank}.");
        int at = header;
        var shape = new long[rank];
        for (int i = 0; i < rank; i++) { shape[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[at..]); at += 8; }
        long total = 1;
        foreach (var s in shape)
        {
            if (s < 0 || (s > 0 && total > int.MaxValue / s)) throw new FormatException($"The partial set state has an invalid shape [{string.Join(", ", shape)}].");
            total *= s;
        }
        long expected = (long)at + 8 * shape[0] + 4 * total + 8;
        if (bytes.Length != expected)
            throw new FormatException($"The partial set state of shape [{string.Join(", ", shape)}] should have {expected} bytes but has {bytes.Length}.");
        var counts = new long[shape[0]];
        for (int i = 0; i < counts.Length; i++) { counts[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[at..]); at += 8; }
        var values = MemoryMarshal.Cast<byte, float>(bytes.Slice(at, (int)(4 * total))).ToArray();
        if (!BitConverter.IsLittleEndian)
            for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(at + 4 * i)..]);
        return new SetPartialState(modelId, aggregation, shape, values, counts);
    }

    private static int AggregationCode(PoolingKind kind) => kind switch
    {
        PoolingKind.Sum => 0,
        PoolingKind.Mean => 1,
        PoolingKind.Max => 2,
        PoolingKind.Min => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private static PoolingKind AggregationFromCode(int code) => code switch
    {
        0 => PoolingKind.Sum,
        1 => PoolingKind.Mean,
        2 => PoolingKind.Max,
        3 => PoolingKind.Min,
        _ => throw new FormatException($"The partial set state has an unknown aggregation code {code}."),
    };

    /// <summary>Readable description.</summary>
    public override string ToString()
        => $"SetPartialState(model {ModelId:x16}, {Aggregation}, shape [{string.Join(", ", shape)}], {ElementCount} elements)";
}
