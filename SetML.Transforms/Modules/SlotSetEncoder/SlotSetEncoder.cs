using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// The (hierarchical) Slot Set Encoder (Andreis et al. 2021) as a set → vector encoder:
/// <code>
///   f(X) = ρ(flatten(SSE_T(… SSE_2(SSE_1(φ(X))))))        eq. 6, with SSE_t a <see cref="SlotSetEncoderLayer"/>
/// </code>
/// φ is an optional row-wise MLP (the paper's image-reconstruction encoder, Table 3, puts one before the SSE) and ρ an
/// optional MLP on the flattened K_T·d̂ slots. Only SSE_1 sees the elements; SSE_2…SSE_T read the K_{t−1} slots of the
/// level below as a set, so the whole stack stays mini-batch consistent (<see cref="IMiniBatchConsistentEncoder"/>).
/// </summary>
public sealed class SlotSetEncoder : SetEncoder, IMiniBatchConsistentEncoder
{
    private readonly Mlp? phi;
    private readonly ModuleList<SlotSetEncoderLayer> levels = new();
    private readonly Mlp? rho;

    /// <summary>Creates the encoder.</summary>
    /// <param name="inputDimension">Element dimension d.</param>
    /// <param name="phiHidden">Hidden widths of φ.</param>
    /// <param name="phiOutput">Output width of φ; 0 = no φ (the SSE reads the raw elements).</param>
    /// <param name="slotCounts">K_1 … K_T, one per level of the hierarchy.</param>
    /// <param name="slotDimension">Slot dimension h of every level.</param>
    /// <param name="attentionDimension">Projection dimension d̂ of every level.</param>
    /// <param name="aggregation">Aggregation g of every level.</param>
    /// <param name="initialization">Slot initialisation of every level.</param>
    /// <param name="slotSeed">Seed of the prediction-time slot draw; level t uses <c>slotSeed + t</c>.</param>
    /// <param name="rhoHidden">Hidden widths of ρ.</param>
    /// <param name="outputDimension">Output width of ρ; 0 = no ρ (the embedding is the flattened K_T·d̂ slots).</param>
    /// <param name="activation">Activation of φ and ρ.</param>
    public SlotSetEncoder(int inputDimension, IReadOnlyList<int> phiHidden, int phiOutput, IReadOnlyList<int> slotCounts,
        int slotDimension, int attentionDimension, PoolingKind aggregation, SlotInitialization initialization, long slotSeed,
        IReadOnlyList<int> rhoHidden, int outputDimension, Activation activation = Activation.ReLU) : base(nameof(SlotSetEncoder))
    {
        if (slotCounts.Count == 0) throw new ArgumentException("A Slot Set Encoder needs at least one level (slotCounts is empty).", nameof(slotCounts));
        int width = inputDimension;
        if (phiOutput > 0) { phi = new Mlp(inputDimension, phiHidden, phiOutput, activation); width = phiOutput; }
        for (int t = 0; t < slotCounts.Count; t++)
        {
            levels.Add(new SlotSetEncoderLayer(width, slotCounts[t], slotDimension, attentionDimension, aggregation, initialization, slotSeed + t));
            width = attentionDimension;
        }
        int flat = slotCounts[^1] * attentionDimension;
        if (outputDimension > 0) rho = new Mlp(flat, rhoHidden, outputDimension, activation);
        InputDimension = inputDimension;
        OutputDimension = outputDimension > 0 ? outputDimension : flat;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int InputDimension { get; }

    /// <inheritdoc />
    public override int OutputDimension { get; }

    /// <summary>The levels SSE_1 … SSE_T of the hierarchy.</summary>
    public IReadOnlyList<SlotSetEncoderLayer> Levels => levels.ToList();

    /// <summary>
    /// Changes the number of random slots of level <paramref name="level"/> (0-based) after training (§2.3). The last
    /// level's K sets the embedding size, so only lower levels of a hierarchy may change (e.g. slotCounts = [16, 1]).
    /// </summary>
    public void SetSlotCount(int level, int slotCount)
    {
        if (level < 0 || level >= levels.Count) throw new ArgumentOutOfRangeException(nameof(level), level, $"The encoder has {levels.Count} levels.");
        if (level == levels.Count - 1 && slotCount != levels[level].SlotCount)
            throw new InvalidOperationException(
                "The slot count of the last level fixes the embedding size and cannot change after training; use a hierarchy (e.g. SlotCounts = [16, 1]) and change a lower level.");
        levels[level].SlotCount = slotCount;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var context = BeginStream((int)x.shape[0]);
        var state = EncodeChunk(x, mask, context);
        var pooled = MiniBatchConsistentPooling.Finish(state, mask.sum(1), StreamAggregation);
        return FinishStream(pooled, context).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public PoolingKind StreamAggregation => levels[0].Aggregation;

    /// <inheritdoc />
    public Tensor? BeginStream(int batchSize) => levels[0].SampleSlots(batchSize);

    /// <inheritdoc />
    public Tensor EncodeChunk(Tensor x, Tensor mask, Tensor? context)
    {
        using var scope = torch.NewDisposeScope();
        var h = phi is null ? x : phi.forward(x);                                   // φ row-wise: MBC by concatenation
        return levels[0].Partial(h, mask, context!).MoveToOuterDisposeScope();       // SSE_1 of the chunk
    }

    /// <inheritdoc />
    public Tensor FinishStream(Tensor pooled, Tensor? context)
    {
        using var scope = torch.NewDisposeScope();
        var s = pooled;                                                              // Ŝ_1 [B, K_1, d̂]
        for (int t = 1; t < levels.Count; t++)                                       // eq. 6: SSE_t(Ŝ_{t−1})
        {
            var all = torch.ones(s.shape[0], s.shape[1], dtype: ScalarType.Bool, device: s.device);
            s = levels[t].forward(s, all);
        }
        var flat = s.flatten(1);
        return (rho is null ? flat.alias() : rho.forward(flat)).MoveToOuterDisposeScope();
    }
}
