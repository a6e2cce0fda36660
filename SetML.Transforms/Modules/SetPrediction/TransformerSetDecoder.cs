using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules.SetPrediction;

/// <summary>How the <see cref="TransformerSetDecoder"/> creates its initial set.</summary>
public enum InitialSetKind
{
    /// <summary>N learned slot vectors (DETR's object queries).</summary>
    Learned,
    /// <summary>
    /// N vectors sampled from a learned normal distribution N(μ, diag σ²) shared by all slots (TSPN). At prediction time
    /// one fixed sample (seeded generator) is used, so predictions are reproducible and independent of batching.
    /// </summary>
    Sampled,
}

/// <summary>
/// One refinement layer of the <see cref="TransformerSetDecoder"/>, built from the Set Transformer's blocks: the slots
/// attend to each other (SAB, permutation-equivariant), then to the memory tokens derived from z (MAB):
/// <c>S ← MAB(S, S); S ← MAB(S, Z)</c>.
/// </summary>
/// <remarks>LayerNorm is off in both blocks by default: in our measurements with a PyTorch reference it trains slower at small budgets.</remarks>
public sealed class SetRefinementLayer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly MultiheadAttentionBlock selfAttention, crossAttention;

    /// <summary>Creates the layer of width <paramref name="dimension"/> with <paramref name="heads"/> heads.</summary>
    public SetRefinementLayer(int dimension, int heads, bool layerNorm = false) : base(nameof(SetRefinementLayer))
    {
        selfAttention = new MultiheadAttentionBlock(dimension, dimension, dimension, heads, layerNorm);
        crossAttention = new MultiheadAttentionBlock(dimension, dimension, dimension, heads, layerNorm);
        RegisterComponents();
    }

    /// <summary>Refines slots <c>[B, N, E]</c> given memory <c>[B, K, E]</c> (no padding on either side).</summary>
    public override Tensor forward(Tensor slots, Tensor memory)
    {
        using var scope = torch.NewDisposeScope();
        var s = selfAttention.forward(slots, slots, null);     // SAB(S) = MAB(S, S)
        return crossAttention.forward(s, memory, null).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Transformer set predictor in the style of TSPN (Kosiorek et al. 2020) and DETR (Carion et al. 2020): an initial
/// set of N slots (learned, or sampled from a learned distribution) is refined by attention layers conditioned on z
/// (z is projected to K memory tokens), and each slot is read out as an element plus a presence; the set size is the
/// number of slots with presence ≥ 0.5. Self-attention lets slots agree on who is responsible for which element,
/// which is what an MLP decoder cannot do.
/// </summary>
public sealed class TransformerSetDecoder : SetDecoder
{
    private readonly Linear memory;
    private readonly Parameter slots;
    private readonly Parameter logScale;
    private readonly ModuleList<SetRefinementLayer> layers = new();
    private readonly LayerNorm outputNorm;
    private readonly Linear elementHead, presenceHead;
    private readonly int modelDimension, memoryTokens;

    /// <summary>Creates the decoder.</summary>
    /// <param name="latentDimension">Size of z.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="slots">N.</param>
    /// <param name="modelDimension">Attention width E.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="layerCount">Refinement layers.</param>
    /// <param name="memoryTokens">K: z is projected to K tokens of width E.</param>
    /// <param name="initialSet">Learned slots or samples.</param>
    public TransformerSetDecoder(int latentDimension, int elementDimension, int slots, int modelDimension = 64, int heads = 4,
        int layerCount = 3, int memoryTokens = 4, InitialSetKind initialSet = InitialSetKind.Learned)
        : base(nameof(TransformerSetDecoder), latentDimension, elementDimension, slots)
    {
        if (modelDimension % heads != 0) throw new ArgumentException($"ModelDimension {modelDimension} must be a multiple of Heads {heads}.", nameof(modelDimension));
        this.modelDimension = modelDimension;
        this.memoryTokens = memoryTokens;
        InitialSet = initialSet;
        memory = nn.Linear(latentDimension, memoryTokens * modelDimension);
        // Learned: one vector per slot. Sampled: μ (one shared row) and log σ.
        this.slots = nn.Parameter(torch.randn(initialSet == InitialSetKind.Learned ? slots : 1, modelDimension).MulScalar(0.5));
        logScale = nn.Parameter(torch.zeros(modelDimension));
        for (int i = 0; i < layerCount; i++) layers.Add(new SetRefinementLayer(modelDimension, heads));
        outputNorm = nn.LayerNorm(modelDimension);
        elementHead = nn.Linear(modelDimension, elementDimension);
        presenceHead = nn.Linear(modelDimension, 1);
        RegisterComponents();
    }

    /// <summary>How the initial set is created.</summary>
    public InitialSetKind InitialSet { get; }

    /// <inheritdoc />
    public override IReadOnlyList<PredictedSetState> Decode(Tensor z, bool training, int? steps = null)
    {
        long b = z.shape[0];
        var mem = memory.forward(z).view(b, memoryTokens, modelDimension);
        Tensor s;
        if (InitialSet == InitialSetKind.Learned) s = slots.unsqueeze(0).expand(b, -1, -1);
        else
        {
            // TSPN: S⁽⁰⁾ = μ + σ ⊙ ε, ε ~ N(0, I). At prediction time one fixed sample (seeded generator) is shared by
            // all rows, so a row's prediction depends neither on the call nor on the batch it is in.
            Tensor eps;
            if (training) eps = torch.randn(new long[] { b, Slots, modelDimension }, dtype: z.dtype, device: z.device);
            else
            {
                using var gen = new Generator(12345, z.device);
                eps = torch.randn(new long[] { 1, Slots, modelDimension }, dtype: z.dtype, device: z.device, generator: gen).expand(b, -1, -1);
            }
            s = slots.unsqueeze(0).Plus(logScale.exp() * eps);
        }
        foreach (var layer in layers) s = layer.forward(s, mem);
        var h = outputNorm.forward(s);
        return new[] { new PredictedSetState(elementHead.forward(h), presenceHead.forward(h).squeeze(-1).sigmoid()) };
    }
}
