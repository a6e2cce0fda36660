using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// A permutation-equivariant set → set network: an SAB/ISAB stack (eq. 13–14) followed by the same linear map on
/// every element: <c>[B, N, d_x] → [B, N, outputs]</c>, zero at padding. Output row i depends on the whole set but
/// moves with element i under any permutation.
/// </summary>
public sealed class SetToSetNetwork : SetLayer
{
    private readonly SetAttentionStack body;
    private readonly Linear output;

    /// <summary>Creates the network from an attention stack and the number of outputs per element.</summary>
    public SetToSetNetwork(SetAttentionStack body, int outputsPerElement) : base(nameof(SetToSetNetwork))
    {
        this.body = body;
        output = nn.Linear(body.OutputDimension, outputsPerElement);
        InputDimension = body.InputDimension;
        OutputDimension = outputsPerElement;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int InputDimension { get; }

    /// <inheritdoc />
    public override int OutputDimension { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        return MaskedPooling.ZeroPadding(output.forward(body.forward(x, mask)), mask).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Amortized clustering network (Set Transformer sec. 5.3): a set encoder maps a set of points to the parameters
/// θ <c>[B, k, 1 + 2d]</c> of a k-component diagonal Gaussian mixture (layout: <see cref="MixtureOfGaussians"/>).
/// With a <see cref="SetTransformerEncoder"/> of k seeds (the paper's ISAB_m × 2 → PMA_k → SAB), each of the k decoder
/// outputs is mapped by one shared linear layer to one component; with any other encoder, one linear layer maps the
/// embedding to all k·(1 + 2d) values.
/// </summary>
public sealed class AmortizedMixtureNetwork : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly SetEncoder encoder;
    private readonly Linear output;
    private readonly bool perSeed;

    /// <summary>Creates the network for <paramref name="components"/> components in dimension <paramref name="elementDimension"/>.</summary>
    public AmortizedMixtureNetwork(SetEncoder encoder, int components, int elementDimension) : base(nameof(AmortizedMixtureNetwork))
    {
        this.encoder = encoder;
        Components = components;
        ElementDimension = elementDimension;
        int p = MixtureOfGaussians.ParametersPerComponent(elementDimension);
        perSeed = encoder is SetTransformerEncoder st && st.Seeds == components && st.OutputDimension == st.Seeds * st.Width;
        output = perSeed
            ? nn.Linear(((SetTransformerEncoder)encoder).Width, p)
            : nn.Linear(encoder.OutputDimension, (long)components * p);
        RegisterComponents();
    }

    /// <summary>Number k of mixture components.</summary>
    public int Components { get; }

    /// <summary>Element dimension d.</summary>
    public int ElementDimension { get; }

    /// <summary>θ for a batch of sets: <c>[B, k, 1 + 2d]</c>.</summary>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var theta = perSeed
            ? output.forward(((SetTransformerEncoder)encoder).SeedOutputs(x, mask))
            : output.forward(encoder.forward(x, mask)).view(x.shape[0], Components, MixtureOfGaussians.ParametersPerComponent(ElementDimension));
        return theta.MoveToOuterDisposeScope();
    }
}
