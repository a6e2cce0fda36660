using SetML.Modules;

namespace SetML.Models;

/// <summary>
/// The options every encoder of the form ρ(pool(φ(X))) has (<see cref="DeepSetsOptions"/>, <see cref="FSPoolOptions"/>,
/// <see cref="AttentionPoolingOptions"/>): φ a row-wise MLP d → <see cref="PhiHiddenSizes"/>… → <see cref="LatentDimension"/>,
/// a pooling over the elements, and ρ an MLP → <see cref="RhoHiddenSizes"/>… → <see cref="EmbeddingDimension"/>. Each
/// subclass declares these settings with its own measured defaults (documented there), adds its pooling's settings and
/// gives its pooling's memory; φ, ρ, the embedding size and the forward-memory estimate are defined here once.
/// </summary>
public abstract class PhiPoolRhoOptions : SetEncoderOptions
{
    /// <summary>Hidden widths of φ, the row-wise MLP before the pooling.</summary>
    public abstract int[] PhiHiddenSizes { get; set; }
    /// <summary>Width of φ's output, the pooled features.</summary>
    public abstract int LatentDimension { get; set; }
    /// <summary>Hidden widths of ρ, the MLP after the pooling.</summary>
    public abstract int[] RhoHiddenSizes { get; set; }
    /// <summary>Size of the embedding the encoder outputs (ρ's output).</summary>
    public abstract int EmbeddingDimension { get; set; }
    /// <summary>Activation of φ and ρ.</summary>
    public abstract Activation Activation { get; set; }

    /// <inheritdoc />
    public sealed override int CreateEmbeddingDimension(int elementDimension) => EmbeddingDimension;

    /// <inheritdoc />
    public sealed override double EstimateForwardBytes(int elementDimension, double batch, double setSize)
        => ForwardMemory.PhiPoolRho(batch, setSize, elementDimension, PhiHiddenSizes, LatentDimension,
            PoolingBytes(batch, setSize), RhoHiddenSizes, EmbeddingDimension);

    /// <summary>
    /// Bytes the pooling itself allocates for <paramref name="batch"/> sets padded to <paramref name="setSize"/>
    /// elements (φ's output and ρ are counted by <see cref="EstimateForwardBytes"/>).
    /// </summary>
    protected abstract double PoolingBytes(double batch, double setSize);

    /// <summary>φ: d → <see cref="PhiHiddenSizes"/>… → <see cref="LatentDimension"/>, activated after its last layer too.</summary>
    internal Mlp CreatePhi(int elementDimension) => new(elementDimension, PhiHiddenSizes, LatentDimension, Activation, activateLast: true);

    /// <summary>ρ: <see cref="LatentDimension"/> → <see cref="RhoHiddenSizes"/>… → <see cref="EmbeddingDimension"/>, linear last layer.</summary>
    internal Mlp CreateRho() => new(LatentDimension, RhoHiddenSizes, EmbeddingDimension, Activation);
}
