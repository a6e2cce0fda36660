using SetML.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Models;

/// <summary>One statistic of a non-learned <see cref="SetPoolingModelSpec"/>.</summary>
public enum SetPoolingKind
{
    /// <summary>Σ_i x_i per feature (d values).</summary>
    Sum,
    /// <summary>Mean per feature (d values; 0 for an empty set).</summary>
    Mean,
    /// <summary>Maximum per feature (d values; 0 for an empty set).</summary>
    Max,
    /// <summary>Minimum per feature (d values; 0 for an empty set).</summary>
    Min,
    /// <summary>The number of elements n (1 value).</summary>
    Count,
}

/// <summary>
/// A parameter-free set featurizer: symmetric statistics of each set (sum/mean/max/min per feature, count),
/// concatenated in the order of <see cref="Kinds"/> into one fixed-size vector. Persisted through the generic
/// <c>SetModelTransformer</c> like every trained model (its network has no weights).
/// </summary>
[SpecType("model.set-pooling")]
public sealed class SetPoolingModelSpec : ModelSpec
{
    /// <summary>The statistics, in output order.</summary>
    public SetPoolingKind[] Kinds { get; set; } = { SetPoolingKind.Mean };
    /// <summary>Name of the output vector column.</summary>
    public string OutputColumnName { get; set; } = "Features";

    /// <summary>Element dimension d of the set input.</summary>
    public int ElementDimension => Inputs[0].ElementDimension;

    /// <summary>Length of the output vector: d per feature statistic, 1 per count.</summary>
    public int OutputSize => Kinds.Sum(k => k == SetPoolingKind.Count ? 1 : ElementDimension);

    /// <inheritdoc />
    public override nn.Module CreateNetwork() => new SetPoolingNetwork(Kinds);

    /// <inheritdoc />
    public override ModelOutputs CreateOutputs() => ModelOutputs.Create<SetPoolingNetwork, Tensor>(
        (net, batch) => net.forward(batch.X[0], batch.Mask[0]!),
        OutputColumn.Vector<Tensor>(OutputColumnName, OutputSize, SlotNames(), EncoderModelSpec.Rows));

    /// <summary>Slot names such as <c>Max[2]</c> and <c>Count</c>.</summary>
    public string[] SlotNames()
        => Kinds.SelectMany(k => k == SetPoolingKind.Count
            ? new[] { "Count" }
            : Enumerable.Range(0, ElementDimension).Select(j => $"{k}[{j}]")).ToArray();

    /// <inheritdoc />
    public override double EstimateForwardBytes(int batch, IReadOnlyList<long> setSizes)
        => ForwardMemory.SetInput(batch, setSizes[0], ElementDimension) + Kinds.Length * ForwardMemory.Pooling(batch, setSizes[0], ElementDimension);

    /// <inheritdoc />
    public override string DescribeMemory() => "SetPooling, linear in the set size";
}

/// <summary>The weightless network of a <see cref="SetPoolingModelSpec"/>: <c>(x [B,N,d], mask) → [B, size]</c>.</summary>
public sealed class SetPoolingNetwork : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly SetPoolingKind[] kinds;

    /// <summary>Creates the network for the given statistics.</summary>
    public SetPoolingNetwork(IReadOnlyList<SetPoolingKind> kinds) : base(nameof(SetPoolingNetwork))
    {
        if (kinds.Count == 0) throw new ArgumentException("SetPooling needs at least one statistic.", nameof(kinds));
        this.kinds = kinds.ToArray();
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var parts = kinds.Select(k => k switch
        {
            SetPoolingKind.Count => mask.sum(1, keepdim: true, type: x.dtype),
            SetPoolingKind.Sum => MaskedPooling.Pool(x, mask, PoolingKind.Sum),
            SetPoolingKind.Mean => MaskedPooling.Pool(x, mask, PoolingKind.Mean),
            SetPoolingKind.Max => MaskedPooling.Pool(x, mask, PoolingKind.Max),
            SetPoolingKind.Min => MaskedPooling.Pool(x, mask, PoolingKind.Min),
            _ => throw new ArgumentOutOfRangeException(nameof(kinds)),
        }).ToArray();
        return torch.cat(parts, 1).MoveToOuterDisposeScope();
    }
}
