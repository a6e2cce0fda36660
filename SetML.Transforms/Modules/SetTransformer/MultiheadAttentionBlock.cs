using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// The Multihead Attention Block of the Set Transformer (Lee et al. 2019, eq. 6–7):
/// <code>
/// MAB(X, Y) = LayerNorm(H + rFF(H))
/// H         = LayerNorm(X W^Q + Multihead(X, Y, Y) W^O)
/// </code>
/// with rFF(H) = ReLU(H W + b) and Multihead the masked attention of <see cref="MaskedAttention"/>.
/// </summary>
/// <remarks>
/// Where we depart from the paper, and why:
/// <list type="bullet">
/// <item>The residual adds the projected query X W^Q, not X: eq. 7 only type-checks when dim(X) = d, and the first
/// block of an encoder reads d_x-dimensional elements (the authors' public code does the same).</item>
/// <item>We keep the output projection W^O of eq. 4, which the authors' public code omits; the supplement's
/// universality proof (Prop. 3) relies on it, and it costs one d×d matrix.</item>
/// <item>LayerNorm is switchable: the paper's equations (eq. 6–7) have it; the authors' public code leaves it off by
/// default, and at small training budgets the model trains faster without it (docs/results.md).</item>
/// <item>Optional dropout on the attention output (training only); the paper's MAB has none (default 0).</item>
/// </list>
/// </remarks>
public sealed class MultiheadAttentionBlock : nn.Module<Tensor, Tensor, Tensor?, Tensor>
{
    // Stable weight names: the snake_case names of the authors' code and of model files written before the rename.
    [WeightName("fc_q")] private readonly Linear fcQ;
    [WeightName("fc_k")] private readonly Linear fcK;
    [WeightName("fc_v")] private readonly Linear fcV;
    [WeightName("fc_o")] private readonly Linear fcO;
    private readonly Linear rff;
    [WeightName("ln_h")] private readonly LayerNorm? lnH;
    [WeightName("ln_out")] private readonly LayerNorm? lnOut;
    private readonly double dropout;

    /// <summary>Creates MAB with queries of dimension <paramref name="queryDimension"/> and keys/values of <paramref name="keyDimension"/>.</summary>
    /// <param name="queryDimension">Element dimension of X (the queries).</param>
    /// <param name="keyDimension">Element dimension of Y (keys and values).</param>
    /// <param name="width">Block width d (output dimension).</param>
    /// <param name="heads">Attention heads h; must divide <paramref name="width"/>.</param>
    /// <param name="layerNorm">Apply the two LayerNorms of eq. 6–7.</param>
    /// <param name="dropout">Dropout probability on the attention output during training.</param>
    public MultiheadAttentionBlock(int queryDimension, int keyDimension, int width, int heads, bool layerNorm = true, double dropout = 0)
        : base(nameof(MultiheadAttentionBlock))
    {
        if (heads < 1 || width % heads != 0)
            throw new ArgumentException($"The width ({width}) must be a positive multiple of the number of heads ({heads}).", nameof(heads));
        fcQ = nn.Linear(queryDimension, width);
        fcK = nn.Linear(keyDimension, width);
        fcV = nn.Linear(keyDimension, width);
        fcO = nn.Linear(width, width);
        rff = nn.Linear(width, width);
        if (layerNorm)
        {
            lnH = nn.LayerNorm(width);
            lnOut = nn.LayerNorm(width);
        }
        this.dropout = dropout;
        Width = width;
        Heads = heads;
        RegisterComponents();
    }

    /// <summary>Block width d.</summary>
    public int Width { get; }

    /// <summary>Number of heads h.</summary>
    public int Heads { get; }

    /// <summary>Whether the LayerNorms of eq. 6–7 are applied.</summary>
    public bool LayerNorm => lnH is not null;

    /// <summary>MAB(X, Y) for <c>x [B, nq, dq]</c>, <c>y [B, nk, dk]</c>; <paramref name="keyMask"/> <c>[B, nk]</c> marks real keys (null = all).</summary>
    public override Tensor forward(Tensor x, Tensor y, Tensor? keyMask)
    {
        using var scope = torch.NewDisposeScope();
        var q = fcQ.forward(x);
        var attention = fcO.forward(MaskedAttention.Multihead(q, fcK.forward(y), fcV.forward(y), Heads, keyMask)); // eq. 4–5
        if (dropout > 0 && training) attention = nn.functional.dropout(attention, dropout, training);
        var h = q.Plus(attention);                                   // eq. 7
        if (lnH is not null) h = lnH.forward(h);
        var output = h.Plus(nn.functional.relu(rff.forward(h)));     // eq. 6
        if (lnOut is not null) output = lnOut.forward(output);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>Readable description, e.g. <c>MAB(d=64, h=4, LN)</c>.</summary>
    public override string ToString() => $"MAB(d={Width}, h={Heads}{(LayerNorm ? ", LN" : "")})";
}
