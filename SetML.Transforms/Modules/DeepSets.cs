using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Deep Sets encoder (Zaheer et al. 2017): <c>f(X) = ρ(pool_{x∈X} φ(x))</c>, with φ an MLP applied to each
/// element (rFF), pool ∈ {sum, mean, max, min} over real elements only, and ρ an MLP on the pooled vector.
/// Permutation-invariant, mini-batch consistent for sum/max/min (and for mean via running counts).
/// </summary>
public sealed class DeepSetsEncoder : SetEncoder
{
    private readonly Mlp phi;
    private readonly Mlp rho;

    /// <summary>Creates φ: d → phiHidden… → latent and ρ: latent → rhoHidden… → output.</summary>
    public DeepSetsEncoder(int inputDimension, IReadOnlyList<int> phiHidden, int latentDimension,
                           IReadOnlyList<int> rhoHidden, int outputDimension, PoolingKind pooling,
                           Activation activation = Activation.ReLU) : base(nameof(DeepSetsEncoder))
    {
        phi = new Mlp(inputDimension, phiHidden, latentDimension, activation, activateLast: true);
        rho = new Mlp(latentDimension, rhoHidden, outputDimension, activation, activateLast: false);
        Pooling = pooling;
        InputDimension = inputDimension;
        OutputDimension = outputDimension;
        LatentDimension = latentDimension;
        RegisterComponents();
    }

    /// <summary>The symmetric pooling over elements.</summary>
    public PoolingKind Pooling { get; }

    /// <summary>Width of φ's output (the pooled representation).</summary>
    public int LatentDimension { get; }

    /// <inheritdoc />
    public override int InputDimension { get; }

    /// <inheritdoc />
    public override int OutputDimension { get; }

    /// <summary>φ applied to every element: <c>[B, N, d] → [B, N, latent]</c>.</summary>
    public Tensor Phi(Tensor x) => phi.forward(x);

    /// <summary>ρ applied to a pooled representation.</summary>
    public Tensor Rho(Tensor pooled) => rho.forward(pooled);

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var pooled = MaskedPooling.Pool(phi.forward(x), mask, Pooling);
        return rho.forward(pooled).MoveToOuterDisposeScope();
    }
}
