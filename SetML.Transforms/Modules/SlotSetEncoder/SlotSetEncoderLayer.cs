using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>How the K slots of a <see cref="SlotSetEncoderLayer"/> are initialised (Andreis et al. 2021, §2.3).</summary>
public enum SlotInitialization
{
    /// <summary>
    /// Random slots <c>S ~ N(μ, diag σ)</c> (eq. 2) with learnable μ and σ, one row per slot; K may change after training.
    /// During training a fresh draw per set; at prediction one fixed draw from a generator seeded by the slot seed.
    /// </summary>
    Random,
    /// <summary>Deterministic learnable slots <c>S_χ ∈ R^{K×h}</c>; K is fixed by the weights.</summary>
    Deterministic,
}

/// <summary>
/// One Slot Set Encoder block (Andreis et al. 2021, Algorithm 2): a set <c>X [B, n, d]</c> → K slots <c>Ŝ [B, K, d̂]</c>.
/// <code>
///   S     = LayerNorm(S)                      slots, random (eq. 2) or learned
///   M     = k(X) · q(S)ᵀ / √d̂                 eq. 3
///   attn  = sigmoid(M) + 1e-8                 Algorithm 2, line 10
///   W     = attn / Σ_slots attn               eq. 4: normalised over the SLOT axis, not over elements
///   Ŝ     = g_i (W_i,k · v(x_i))              g = sum gives Wᵀ · v(X); g ∈ {sum, mean, max, min}
///   Ŝ     = LayerNorm(Ŝ)                      optional, over d̂ of each slot, after g over the whole set
/// </code>
/// No quantity before the final LayerNorm depends on other elements of X, so the aggregate of a set equals g over the
/// aggregates of the chunks of any partition (mini-batch consistency): <see cref="Partial"/> encodes a chunk,
/// <see cref="MiniBatchConsistentPooling"/> merges, <see cref="Finish"/> applies the output LayerNorm once to the merged
/// slots (the LayerNorm after pooling of the authors' follow-up, Universal Mini-Batch Consistency, Lee et al. 2023).
/// </summary>
public sealed class SlotSetEncoderLayer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter? mu, logSigma, slots;
    private readonly LayerNorm norm;
    private readonly LayerNorm? outputNorm;
    private readonly Linear q, k, v;
    private readonly double scale;
    private int slotCount;

    /// <summary>Creates the block.</summary>
    /// <param name="inputDimension">Element dimension d.</param>
    /// <param name="slotCount">Number of slots K.</param>
    /// <param name="slotDimension">Slot dimension h.</param>
    /// <param name="attentionDimension">Dimension d̂ of the k/q/v projections (and of the output slots).</param>
    /// <param name="aggregation">Aggregation g over elements (and over chunks).</param>
    /// <param name="initialization">Random (eq. 2) or deterministic learned slots.</param>
    /// <param name="slotSeed">Seed of the slot draw used at prediction time (random slots).</param>
    /// <param name="outputLayerNorm">Whether <see cref="Finish"/> applies a LayerNorm over d̂ to each aggregated slot
    /// (see <see cref="Models.SlotSetEncoderOptions.OutputLayerNorm"/>); false is the paper's Algorithm 2 exactly.</param>
    public SlotSetEncoderLayer(int inputDimension, int slotCount, int slotDimension, int attentionDimension,
        PoolingKind aggregation = PoolingKind.Sum, SlotInitialization initialization = SlotInitialization.Random, long slotSeed = 0,
        bool outputLayerNorm = false)
        : base(nameof(SlotSetEncoderLayer))
    {
        if (slotCount < 1) throw new ArgumentOutOfRangeException(nameof(slotCount), slotCount, "A Slot Set Encoder needs at least one slot.");
        if (initialization == SlotInitialization.Random)
        {
            mu = nn.Parameter(torch.randn(1, slotDimension).MulScalar(1.0 / Math.Sqrt(slotDimension)));
            logSigma = nn.Parameter(ScalarOps.Full(new long[] { 1, slotDimension }, Math.Log(1.0 / Math.Sqrt(slotDimension))));
        }
        else slots = nn.Parameter(torch.randn(slotCount, slotDimension).MulScalar(1.0 / Math.Sqrt(slotDimension)));
        norm = nn.LayerNorm(slotDimension);
        if (outputLayerNorm) outputNorm = nn.LayerNorm(attentionDimension);
        q = nn.Linear(slotDimension, attentionDimension, hasBias: false);
        k = nn.Linear(inputDimension, attentionDimension, hasBias: false);
        v = nn.Linear(inputDimension, attentionDimension, hasBias: false);
        scale = 1.0 / Math.Sqrt(attentionDimension);
        this.slotCount = slotCount;
        InputDimension = inputDimension;
        SlotDimension = slotDimension;
        OutputDimension = attentionDimension;
        Aggregation = aggregation;
        Initialization = initialization;
        SlotSeed = slotSeed;
        RegisterComponents();
    }

    /// <summary>Element dimension d.</summary>
    public int InputDimension { get; }
    /// <summary>Slot dimension h.</summary>
    public int SlotDimension { get; }
    /// <summary>Dimension d̂ of each output slot.</summary>
    public int OutputDimension { get; }
    /// <summary>Aggregation g over elements and chunks.</summary>
    public PoolingKind Aggregation { get; }
    /// <summary>Slot initialisation.</summary>
    public SlotInitialization Initialization { get; }
    /// <summary>Seed of the fixed slot draw used in eval mode (random slots), so that predictions are deterministic.</summary>
    public long SlotSeed { get; }
    /// <summary>Whether <see cref="Finish"/> applies a LayerNorm over d̂ to each aggregated slot.</summary>
    public bool OutputLayerNorm => outputNorm is not null;

    /// <summary>
    /// Number of slots K. Random slots may be given a different K after training (§2.3); deterministic slots cannot.
    /// </summary>
    public int SlotCount
    {
        get => slotCount;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(SlotCount), value, "A Slot Set Encoder needs at least one slot.");
            if (Initialization == SlotInitialization.Deterministic && value != slotCount)
                throw new InvalidOperationException("Only randomly initialised slots can change their number K after training; these slots are learned parameters.");
            slotCount = value;
        }
    }

    /// <summary>
    /// Draws the slots for a batch of <paramref name="batchSize"/> sets: <c>[B, K, h]</c>. In training mode each set gets
    /// a fresh draw from TorchSharp's global generator (seeded by the trainer); in eval mode every set gets the same draw
    /// from a generator seeded with <see cref="SlotSeed"/>, so a prediction never depends on the batch or the call.
    /// </summary>
    public Tensor SampleSlots(int batchSize)
    {
        using var scope = torch.NewDisposeScope();
        Tensor s;
        if (slots is not null) s = slots.unsqueeze(0).expand(batchSize, -1, -1);
        else
        {
            Tensor eps;
            if (training) eps = torch.randn(new long[] { batchSize, slotCount, SlotDimension }, device: mu!.device);
            else
            {
                // Departure from the paper (which always samples): a fixed draw at prediction time makes the model a function.
                using var generator = new Generator((ulong)SlotSeed);
                eps = torch.randn(new long[] { 1, slotCount, SlotDimension }, generator: generator).to(mu!.device)
                    .expand(batchSize, -1, -1);
            }
            s = mu.Plus(logSigma!.exp() * eps);                                   // eq. 2: S ~ N(μ, diag σ)
        }
        return s.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The unnormalised aggregate (see <see cref="MiniBatchConsistentPooling.Partial"/>) of one chunk
    /// <c>x [B, n, d]</c> with <c>mask [B, n]</c> for the given slots <c>[B, K, h]</c>: <c>[B, K, d̂]</c>.
    /// </summary>
    /// <remarks>
    /// k and v are linear maps without bias, so the per-element projections to d̂ need not be formed:
    /// <c>k(X)·q(S)ᵀ = X·(q(S)·W_k)ᵀ</c> and, for sum and mean, <c>Wᵀ·v(X) = v(Wᵀ·X)</c>. Per element that costs
    /// <c>d·K</c> multiply-adds instead of <c>d·d̂ + d̂·K</c> for each of the two products, and is used whenever it is
    /// fewer (always for K ≤ d̂); the result is the same map up to float rounding. Padding is zeroed in the
    /// <c>[B, n, d]</c> input instead of the <c>[B, n, K]</c> weights.
    /// </remarks>
    public Tensor Partial(Tensor x, Tensor mask, Tensor slots)
    {
        using var scope = torch.NewDisposeScope();
        long d = x.shape[2], kCount = slots.shape[1], dHat = OutputDimension;
        bool fold = d * kCount < dHat * (d + kCount);
        // Padded elements are zeroed once, on the narrow input: k and v have no bias, so a zero element adds nothing to
        // a sum and keeps M finite even where the padding holds NaN (max and min mask it again when pooling).
        x = x.MaskedFillScalar(mask.unsqueeze(-1).logical_not(), 0);
        var query = q.forward(norm.forward(slots));                          // q(LayerNorm(S))        [B, K, d̂]
        Tensor m;
        if (fold) m = x.matmul(query.matmul(k.weight!).MulScalar(scale).transpose(1, 2)); // X·(q(S)W_k/√d̂)ᵀ [B, n, K]   eq. 3
        else m = k.forward(x).matmul(query.transpose(1, 2)).MulScalar(scale);            // M = k(X) q(S)ᵀ / √d̂   [B, n, K]   eq. 3
        var attn = m.sigmoid().AddScalar(1e-8);                                        // Algorithm 2, line 10
        var w = attn / attn.sum(-1, keepdim: true);                           // normalise over slots    eq. 4
        Tensor result;
        if (Aggregation is PoolingKind.Sum or PoolingKind.Mean)
            result = fold ? v.forward(w.transpose(1, 2).matmul(x))           // Ŝ = v(Wᵀ · X)          [B, K, d̂]
                : w.transpose(1, 2).matmul(v.forward(x));                     // Ŝ = Wᵀ · v(X)          [B, K, d̂]
        else                                                                  // g_i (W_ik v(x_i)): [B, n, K, d̂]
            result = MiniBatchConsistentPooling.Partial(w.unsqueeze(-1) * v.forward(x).unsqueeze(2), mask, Aggregation);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Encodes whole sets <c>x [B, n, d]</c> into slots <c>[B, K, d̂]</c> with freshly drawn (or fixed) slots.</summary>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var s = SampleSlots((int)x.shape[0]);
        var state = Partial(x, mask, s);
        return Finish(MiniBatchConsistentPooling.Finish(state, mask.sum(1), Aggregation)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The output slots from the aggregate of the whole set (all chunks merged and finished by
    /// <see cref="MiniBatchConsistentPooling.Finish"/>), <c>[B, K, d̂]</c>: the LayerNorm over d̂ when
    /// <see cref="OutputLayerNorm"/>, else <paramref name="pooled"/> itself. Applied once, after the merge, so it keeps
    /// mini-batch consistency.
    /// </summary>
    public Tensor Finish(Tensor pooled) => outputNorm is null ? pooled : outputNorm.forward(pooled);

    /// <summary>Readable description.</summary>
    public override string ToString() => $"SlotSetEncoderLayer(d={InputDimension}, K={SlotCount}, h={SlotDimension}, d̂={OutputDimension}, g={Aggregation}, {Initialization}{(OutputLayerNorm ? ", output LayerNorm" : "")})";
}
