using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Base class of every set → vector encoder. The calling convention is the same for all encoders
/// (as PyTorch Geometric's aggregations share one): <c>forward(x, mask)</c> with
/// <c>x: [B, Nmax, d]</c> (padded elements) and <c>mask: [B, Nmax]</c> (bool, true = real element) returns
/// <c>[B, OutputDimension]</c>. Padding never changes the result, and an empty set gives a finite embedding.
/// </summary>
public abstract class SetEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the encoder module with the given TorchSharp module name.</summary>
    protected SetEncoder(string name) : base(name) { }

    /// <summary>The element dimension d this encoder reads.</summary>
    public abstract int InputDimension { get; }

    /// <summary>The size of the embedding this encoder returns.</summary>
    public abstract int OutputDimension { get; }
}

/// <summary>
/// Base class of permutation-equivariant set → set layers: <c>forward(x [B,N,d_in], mask [B,N]) → [B,N,d_out]</c>.
/// Output rows at padded positions are zero.
/// </summary>
public abstract class SetLayer : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the layer module with the given TorchSharp module name.</summary>
    protected SetLayer(string name) : base(name) { }

    /// <summary>Element dimension in.</summary>
    public abstract int InputDimension { get; }

    /// <summary>Element dimension out.</summary>
    public abstract int OutputDimension { get; }
}
