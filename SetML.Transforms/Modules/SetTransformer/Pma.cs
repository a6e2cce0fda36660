using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Pooling by Multihead Attention with k learned seed vectors S (eq. 11): <c>PMA_k(Z) = MAB(S, rFF(Z))</c>,
/// a permutation-invariant map from a set of n vectors to k vectors. rFF(Z) = ReLU(Z W + b) is kept, as eq. 11
/// writes it (the supplement says the authors' experiments omit it; the team's PyTorch reference keeps it).
/// Seeds: Xavier-uniform initialised <c>[1, k, d]</c>. Padded elements get zero attention weight; an empty set
/// yields MAB(S, ∅), which is finite.
/// </summary>
public sealed class Pma : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter seeds;
    private readonly Linear rff;
    private readonly MultiheadAttentionBlock mab;

    /// <summary>Creates PMA_k of width d.</summary>
    /// <param name="width">Element dimension d of Z and of the output.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="seedCount">Number k of seed vectors (outputs).</param>
    /// <param name="layerNorm">Apply the LayerNorms of the MAB.</param>
    /// <param name="dropout">Dropout on the attention output during training.</param>
    public Pma(int width, int heads, int seedCount, bool layerNorm = true, double dropout = 0) : base(nameof(Pma))
    {
        if (seedCount < 1) throw new ArgumentException($"PMA needs at least one seed vector, but {seedCount} was given.", nameof(seedCount));
        seeds = new Parameter(torch.empty(1, seedCount, width));
        nn.init.xavier_uniform_(seeds);
        rff = nn.Linear(width, width);
        mab = new MultiheadAttentionBlock(width, width, width, heads, layerNorm, dropout);
        Width = width;
        SeedCount = seedCount;
        RegisterComponents();
    }

    /// <summary>Width d.</summary>
    public int Width { get; }

    /// <summary>Number k of seeds.</summary>
    public int SeedCount { get; }

    /// <summary>PMA_k(Z) for <c>z [B, N, d]</c>, <c>mask [B, N]</c> → <c>[B, k, d]</c>.</summary>
    public override Tensor forward(Tensor z, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var s = seeds.expand(z.shape[0], -1, -1);
        return mab.forward(s, nn.functional.relu(rff.forward(z)), mask).MoveToOuterDisposeScope();
    }
}
