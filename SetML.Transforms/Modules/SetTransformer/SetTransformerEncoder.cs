using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// The Set Transformer (Lee et al. 2019, sec. 3.3) as a set → vector encoder:
/// <code>
/// Z = Encoder(X)          = SAB(…SAB(X)) or ISAB_m(…ISAB_m(X))      (eq. 13–14)
/// P = PMA_k(Z)            ∈ ℝ^{k×d}                                   (eq. 11)
/// H = SAB(P)              when k &gt; 1                                (eq. 12)
/// embedding = flatten(H)  ∈ ℝ^{k·d}, optionally projected linearly
/// </code>
/// The task's rFF of eq. 15 is the head that follows (<see cref="EncoderHeadNetwork"/>). Permutation-invariant, but
/// NOT mini-batch consistent: attention normalises over the whole set, so encoding two halves and pooling them does
/// not give the embedding of the whole set.
/// </summary>
public sealed class SetTransformerEncoder : SetEncoder
{
    private readonly SetAttentionStack encoder;
    private readonly Pma pma;
    private readonly SetAttentionBlock? decoder_sab;
    private readonly Linear? projection;

    /// <summary>Creates the encoder.</summary>
    /// <param name="inputDimension">Element dimension d_x.</param>
    /// <param name="width">Width d of every block.</param>
    /// <param name="heads">Attention heads per block.</param>
    /// <param name="layers">Number of SAB/ISAB blocks in the encoder.</param>
    /// <param name="inducingPoints">0: SAB blocks; m &gt; 0: ISAB_m blocks.</param>
    /// <param name="seeds">Number k of PMA seed vectors.</param>
    /// <param name="decoderSelfAttention">Apply SAB to the k PMA outputs when k &gt; 1 (eq. 12).</param>
    /// <param name="layerNorm">Apply the LayerNorms of every MAB.</param>
    /// <param name="dropout">Dropout on attention outputs during training.</param>
    /// <param name="embeddingDimension">0: the embedding is the flattened k·d decoder output; otherwise a linear projection to this size.</param>
    public SetTransformerEncoder(int inputDimension, int width, int heads, int layers, int inducingPoints, int seeds,
                                 bool decoderSelfAttention, bool layerNorm, double dropout = 0, int embeddingDimension = 0)
        : base(nameof(SetTransformerEncoder))
    {
        encoder = new SetAttentionStack(inputDimension, width, heads, layers, inducingPoints, layerNorm, dropout);
        pma = new Pma(width, heads, seeds, layerNorm, dropout);
        if (decoderSelfAttention && seeds > 1) decoder_sab = new SetAttentionBlock(width, width, heads, layerNorm, dropout);
        if (embeddingDimension > 0) projection = nn.Linear((long)seeds * width, embeddingDimension);
        InputDimension = inputDimension;
        Width = width;
        Seeds = seeds;
        OutputDimension = embeddingDimension > 0 ? embeddingDimension : seeds * width;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int InputDimension { get; }

    /// <inheritdoc />
    public override int OutputDimension { get; }

    /// <summary>Block width d.</summary>
    public int Width { get; }

    /// <summary>Number k of PMA seeds.</summary>
    public int Seeds { get; }

    /// <summary>The equivariant encoder Z = Encoder(X): <c>[B, N, d_x] → [B, N, d]</c>, zero at padding.</summary>
    public Tensor Encode(Tensor x, Tensor mask) => encoder.forward(x, mask);

    /// <summary>The decoder before flattening, H = SAB(PMA_k(Z)) (or PMA_k(Z) when k = 1): <c>[B, k, d]</c>.</summary>
    public Tensor Decode(Tensor z, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var h = pma.forward(z, mask);
        if (decoder_sab is not null) h = decoder_sab.SelfAttend(h);
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>The k decoder outputs of a batch of sets, <c>[B, k, d]</c> (used per seed by amortized clustering).</summary>
    public Tensor SeedOutputs(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        return Decode(Encode(x, mask), mask).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var h = SeedOutputs(x, mask).flatten(1);
        if (projection is not null) h = projection.forward(h);
        return h.MoveToOuterDisposeScope();
    }
}
