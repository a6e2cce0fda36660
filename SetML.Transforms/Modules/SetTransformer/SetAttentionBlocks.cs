using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Set Attention Block (eq. 8): <c>SAB(X) = MAB(X, X)</c>, self-attention among the elements of each set.
/// Permutation-equivariant, O(n²) in the set size. Padded keys are ignored; padded output rows are zero.
/// </summary>
public sealed class SetAttentionBlock : SetLayer
{
    private readonly MultiheadAttentionBlock mab;

    /// <summary>Creates SAB(d_in → width) with <paramref name="heads"/> heads.</summary>
    /// <param name="inputDimension">Element dimension in.</param>
    /// <param name="width">Block width d (element dimension out).</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="layerNorm">Apply the LayerNorms of the MAB.</param>
    /// <param name="dropout">Dropout on the attention output during training.</param>
    public SetAttentionBlock(int inputDimension, int width, int heads, bool layerNorm = true, double dropout = 0)
        : base(nameof(SetAttentionBlock))
    {
        mab = new MultiheadAttentionBlock(inputDimension, inputDimension, width, heads, layerNorm, dropout);
        InputDimension = inputDimension;
        OutputDimension = width;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int InputDimension { get; }

    /// <inheritdoc />
    public override int OutputDimension { get; }

    /// <summary>SAB(X) on padded sets: <c>x [B, N, d_in]</c>, <c>mask [B, N]</c> → <c>[B, N, width]</c>, zero at padding.</summary>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        return MaskedPooling.ZeroPadding(mab.forward(x, x, mask), mask).MoveToOuterDisposeScope();
    }

    /// <summary>SAB(X) on sets without padding (e.g. the k outputs of <see cref="Pma"/>, eq. 12): <c>[B, k, d_in] → [B, k, width]</c>.</summary>
    public Tensor SelfAttend(Tensor x) => mab.forward(x, x, null);
}

/// <summary>
/// Induced Set Attention Block with m learned inducing points I (eq. 9–10):
/// <code>
/// ISAB_m(X) = MAB(X, H),   H = MAB(I, X) ∈ ℝ^{m×d}
/// </code>
/// Permutation-equivariant and O(n·m) in the set size. Inducing points: Xavier-uniform initialised <c>[1, m, d]</c>
/// (as in the authors' code). Padded elements are never attended to; padded output rows are zero.
/// </summary>
public sealed class InducedSetAttentionBlock : SetLayer
{
    [WeightName("inducing_points")] private readonly Parameter inducingPoints;
    [WeightName("mab_induced")] private readonly MultiheadAttentionBlock mabInduced;
    [WeightName("mab_elements")] private readonly MultiheadAttentionBlock mabElements;

    /// <summary>Creates ISAB_m(d_in → width).</summary>
    /// <param name="inputDimension">Element dimension in.</param>
    /// <param name="width">Block width d (element dimension out).</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="inducingPoints">Number m of inducing points.</param>
    /// <param name="layerNorm">Apply the LayerNorms of the MABs.</param>
    /// <param name="dropout">Dropout on the attention outputs during training.</param>
    public InducedSetAttentionBlock(int inputDimension, int width, int heads, int inducingPoints, bool layerNorm = true, double dropout = 0)
        : base(nameof(InducedSetAttentionBlock))
    {
        if (inducingPoints < 1) throw new ArgumentException($"The number of inducing points must be ≥ 1, but {inducingPoints} was given.", nameof(inducingPoints));
        this.inducingPoints = new Parameter(torch.empty(1, inducingPoints, width));
        nn.init.xavier_uniform_(this.inducingPoints);
        mabInduced = new MultiheadAttentionBlock(width, inputDimension, width, heads, layerNorm, dropout);
        mabElements = new MultiheadAttentionBlock(inputDimension, width, width, heads, layerNorm, dropout);
        InputDimension = inputDimension;
        OutputDimension = width;
        InducingPoints = inducingPoints;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int InputDimension { get; }

    /// <inheritdoc />
    public override int OutputDimension { get; }

    /// <summary>Number m of inducing points.</summary>
    public int InducingPoints { get; }

    /// <summary>ISAB_m(X) on padded sets: <c>x [B, N, d_in]</c>, <c>mask [B, N]</c> → <c>[B, N, width]</c>, zero at padding.</summary>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var h = mabInduced.forward(inducingPoints.expand(x.shape[0], -1, -1), x, mask); // eq. 10: H = MAB(I, X)
        var output = mabElements.forward(x, h, null);                                     // eq. 9: MAB(X, H)
        return MaskedPooling.ZeroPadding(output, mask).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A stack of SABs (eq. 13) or ISAB_m's (eq. 14): the Set Transformer's permutation-equivariant encoder
/// <c>X ∈ ℝ^{n×d_x} ↦ Z ∈ ℝ^{n×d}</c>, optionally after a per-element network rFF(X) (the paper's experiments on images
/// put a per-image CNN there; Table 7). Also the network body of SetML's set → set models.
/// </summary>
public sealed class SetAttentionStack : SetLayer
{
    private readonly ModuleList<SetLayer> blocks = new();
    [WeightName("element_rff")] private readonly Mlp? elementNetwork;

    /// <summary>
    /// Creates <paramref name="layers"/> SABs, or ISAB_m's when <paramref name="inducingPoints"/> &gt; 0, after the
    /// per-element network <paramref name="elementHiddenSizes"/> when it is not empty.
    /// </summary>
    /// <param name="inputDimension">Element dimension in.</param>
    /// <param name="width">Block width d.</param>
    /// <param name="heads">Attention heads per block.</param>
    /// <param name="layers">Number of blocks (≥ 1).</param>
    /// <param name="inducingPoints">0 for SABs; m &gt; 0 for ISAB_m blocks.</param>
    /// <param name="layerNorm">Apply the LayerNorms of the MABs.</param>
    /// <param name="dropout">Dropout on the attention outputs during training.</param>
    /// <param name="elementHiddenSizes">
    /// Widths of the rFF applied to every element before the first block (ReLU after every layer), so attention
    /// compares learned features rather than raw inputs; null or empty: the elements enter the first block directly.
    /// </param>
    public SetAttentionStack(int inputDimension, int width, int heads, int layers, int inducingPoints, bool layerNorm, double dropout = 0,
        IReadOnlyList<int>? elementHiddenSizes = null)
        : base(nameof(SetAttentionStack))
    {
        if (layers < 1) throw new ArgumentException($"The number of attention blocks must be ≥ 1, but {layers} was given.", nameof(layers));
        int din = inputDimension;
        if (elementHiddenSizes is { Count: > 0 })
        {
            if (elementHiddenSizes.Any(h => h < 1))
                throw new ArgumentException($"Every width of the element network must be ≥ 1, but it is [{string.Join(", ", elementHiddenSizes)}].", nameof(elementHiddenSizes));
            elementNetwork = new Mlp(inputDimension, elementHiddenSizes.Take(elementHiddenSizes.Count - 1).ToArray(), elementHiddenSizes[^1], activateLast: true);
            din = elementHiddenSizes[^1];
        }
        for (int i = 0; i < layers; i++)
        {
            blocks.Add(inducingPoints > 0
                ? new InducedSetAttentionBlock(din, width, heads, inducingPoints, layerNorm, dropout)
                : new SetAttentionBlock(din, width, heads, layerNorm, dropout));
            din = width;
        }
        InputDimension = inputDimension;
        OutputDimension = width;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int InputDimension { get; }

    /// <inheritdoc />
    public override int OutputDimension { get; }

    /// <summary>The blocks, in order.</summary>
    public IReadOnlyList<SetLayer> Blocks => blocks.ToList();

    /// <summary>Z = block_L(…block_1(rFF(X))) on padded sets (rFF only when configured); zero at padding.</summary>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        if (elementNetwork is not null) x = elementNetwork.forward(x);
        foreach (var block in blocks) x = block.forward(x, mask);
        return x.MoveToOuterDisposeScope();
    }
}
