namespace SetML.Models;

/// <summary>
/// Formulas for the memory a forward pass allocates, used by every component's <c>EstimateForwardBytes</c> so that a
/// set or a batch too large for the memory budget is refused or split <em>before</em> any tensor is allocated
/// (<see cref="Training.MemoryBudget"/>). The unit is bytes of float32 activations. Inside a SetML forward pass every
/// intermediate tensor stays alive until the pass ends (one dispose scope; autograd keeps them too when training), so
/// an estimate is the <em>sum</em> of the intermediate tensors, not their peak. The estimates are deliberately simple
/// (a few terms per layer, rounded up); what matters is the growth in the set size n: linear for per-element networks,
/// ISAB, PMA and pooling, quadratic for SAB and relation networks, n^k for k-ary Janossy pooling.
/// </summary>
public static class ForwardMemory
{
    /// <summary>Bytes per float32 value.</summary>
    public const double FloatBytes = 4;

    /// <summary>
    /// An MLP applied to <paramref name="rows"/> rows: every Linear output and every activation
    /// (2 × the widths of <paramref name="hidden"/> and <paramref name="output"/>, per row).
    /// </summary>
    public static double Mlp(double rows, IEnumerable<int> hidden, int output)
        => rows * 2.0 * (hidden.Sum() + output) * FloatBytes;

    /// <summary>
    /// The padded input of a set batch: <c>x [B, n, d]</c> (float32) and its mask <c>[B, n]</c> (bool).
    /// </summary>
    public static double SetInput(double batch, double n, int elementDimension)
        => batch * n * (elementDimension * FloatBytes + 1);

    /// <summary>A masked pooling over n elements of <paramref name="width"/> features (one masked copy, plus the mask broadcast).</summary>
    public static double Pooling(double batch, double n, int width) => batch * n * (width * FloatBytes + 1);

    /// <summary>
    /// One multihead attention block (MAB) of <paramref name="queries"/> queries over <paramref name="keys"/> keys
    /// (Set Transformer eq. 6–7): the h attention matrices three times (logits, masked logits, softmax) — the
    /// O(queries·keys) part — plus the projections, the output, the residuals and the rFF (linear in queries and keys).
    /// </summary>
    public static double Attention(double batch, double queries, double keys, int width, int heads)
        => batch * (3.0 * heads * queries * keys * FloatBytes + keys + (2.0 * keys + 7.0 * queries) * width * FloatBytes);

    /// <summary>
    /// The encoders of the form ρ(pool(φ(X))) (Deep Sets, FSPool, attention pooling): the input, φ on every element
    /// (<paramref name="phiHidden"/> → <paramref name="latent"/>), the pooling's own <paramref name="poolBytes"/>, and ρ on
    /// the pooled vector (<paramref name="rhoHidden"/> → <paramref name="embedding"/>).
    /// </summary>
    internal static double PhiPoolRho(double batch, double n, int elementDimension, IEnumerable<int> phiHidden, int latent,
        double poolBytes, IEnumerable<int> rhoHidden, int embedding)
        => SetInput(batch, n, elementDimension) + Mlp(batch * n, phiHidden, latent) + poolBytes + Mlp(batch, rhoHidden, embedding);

    /// <summary>
    /// The estimate of an encoder that does not override <see cref="SetEncoderOptions.EstimateForwardBytes"/>: assumed
    /// quadratic in n (as attention or pairwise models are), with 256 float32 values per element on top, so that an
    /// unknown encoder is never assumed cheaper than it may be.
    /// </summary>
    public static double UnknownEncoder(double batch, double n, int elementDimension)
        => SetInput(batch, n, elementDimension) + batch * (n * n + 256.0 * n) * FloatBytes;
}
