using SetML.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules.SetPrediction;

/// <summary>Where the inner loop of a <see cref="DeepSetPredictionNetwork"/> starts.</summary>
public enum DspnInitialSet
{
    /// <summary>One learned set Ŷ⁽⁰⁾ shared by every input (the paper's Algorithm 1).</summary>
    Learned,
    /// <summary>
    /// Ŷ⁽⁰⁾ predicted from z by an MLP (N elements with a presence each, as <see cref="MlpSetDecoder"/>), then refined by
    /// the inner loop: the paper's §6 proposal ("better initialise Y⁽⁰⁾ – perhaps with an MLP – so that the set needs to
    /// be changed less"); DSPN becomes a set-aware refinement of the MLP decoder's prediction.
    /// </summary>
    FromLatent,
}

/// <summary>
/// Deep Set Prediction Network (Zhang, Hare &amp; Prügel-Bennett 2019, Algorithm 1): decodes z into a set by gradient
/// descent on the set itself. Starting from a learned initial set Ŷ⁽⁰⁾ (with a presence/mask feature),
/// <c>Ŷ⁽ᵗ⁾ = Ŷ⁽ᵗ⁻¹⁾ − η ∂L_repr(Ŷ⁽ᵗ⁻¹⁾, z)/∂Ŷ⁽ᵗ⁻¹⁾</c>, <c>L_repr(Ŷ, z) = ‖g_enc(Ŷ) − z‖²</c>, presence clamped to
/// [0, 1] after each step. In training the inner loop is differentiated through (create_graph), so the outer loss
/// reaches g_enc and Ŷ⁽⁰⁾. Each inner step is permutation-equivariant because g_enc is permutation-invariant.
/// </summary>
/// <remarks>
/// Departures from the paper, all optional or documented: L_repr is the mean over latents summed over the batch
/// divided by a fixed batch constant (32), not by the actual batch size, so that η = 800 means the same step for
/// any batch (as the team's PyTorch reference does); optional heavy-ball momentum in the inner loop; Huber instead of ‖·‖² as the paper's
/// "practical tricks" suggest.
/// </remarks>
public sealed class DeepSetPredictionNetwork : SetDecoder
{
    private readonly RelaxedDeepSetsEncoder encoder;
    private readonly TorchSharp.Modules.Parameter? initialSet;
    private readonly TorchSharp.Modules.Parameter? initialPresence;
    private readonly MlpSetDecoder? initialDecoder;

    /// <summary>Creates the decoder.</summary>
    /// <param name="encoder">g_enc (its output dimension is the latent size).</param>
    /// <param name="slots">N, the number of element slots.</param>
    /// <param name="innerSteps">T (paper: 10).</param>
    /// <param name="innerLearningRate">η (paper: 800).</param>
    /// <param name="representationWeight">λ of the supervised outer loss (paper: 0.1; not used by a shared-encoder auto-encoder).</param>
    /// <param name="momentum">Inner heavy-ball momentum (0 = the paper's plain gradient descent).</param>
    /// <param name="representationCost">‖·‖² or Huber in L_repr.</param>
    /// <param name="representationBatch">The fixed batch constant dividing L_repr (32, as in the reference).</param>
    /// <param name="lossOnEveryStep">Average the outer set loss over Ŷ⁽⁰⁾…Ŷ⁽ᵀ⁾ (Algorithm 1, line 8) rather than apply it to Ŷ⁽ᵀ⁾ only.</param>
    /// <param name="initialSetKind">A learned Ŷ⁽⁰⁾ (the paper) or one predicted from z by an MLP.</param>
    /// <param name="initialHiddenSizes">Hidden widths of that MLP (<see cref="DspnInitialSet.FromLatent"/> only; null = [256, 256]).</param>
    /// <param name="logitPresence">Step the presence in logit space (p = σ(ℓ), ℓ ← ℓ − η ∂L_repr/∂ℓ) instead of stepping p and clamping it to [0, 1].</param>
    public DeepSetPredictionNetwork(RelaxedDeepSetsEncoder encoder, int slots, int innerSteps = 10, double innerLearningRate = 800,
        double representationWeight = 0.1, double momentum = 0, PairwiseCost representationCost = PairwiseCost.SquaredError,
        double representationBatch = 32, bool lossOnEveryStep = true, DspnInitialSet initialSetKind = DspnInitialSet.Learned,
        IReadOnlyList<int>? initialHiddenSizes = null, bool logitPresence = false)
        : base(nameof(DeepSetPredictionNetwork), encoder.OutputDimension, encoder.InputDimension, slots)
    {
        if (innerSteps < 0) throw new ArgumentOutOfRangeException(nameof(innerSteps), innerSteps, "InnerSteps must be ≥ 0.");
        if (!(innerLearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(innerLearningRate), innerLearningRate, "InnerLearningRate must be > 0.");
        if (momentum < 0 || momentum >= 1) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1).");
        this.encoder = encoder;
        if (initialSetKind == DspnInitialSet.Learned)
        {
            // Ŷ⁽⁰⁾ ~ U(0, 1) and presence 0.5, as in the authors' code.
            initialSet = nn.Parameter(torch.rand(1, slots, encoder.InputDimension));
            initialPresence = nn.Parameter(ScalarOps.Full(new long[] { 1, slots }, 0.5));
        }
        else initialDecoder = new MlpSetDecoder(encoder.OutputDimension, encoder.InputDimension, slots, initialHiddenSizes ?? new[] { 256, 256 });
        InitialSetKind = initialSetKind;
        InnerSteps = innerSteps;
        InnerLearningRate = innerLearningRate;
        RepresentationWeight = representationWeight;
        Momentum = momentum;
        RepresentationCost = representationCost;
        RepresentationBatch = representationBatch;
        LossOnEveryStep = lossOnEveryStep;
        LogitPresence = logitPresence;
        RegisterComponents();
    }

    /// <summary>g_enc.</summary>
    public RelaxedDeepSetsEncoder Encoder => encoder;
    /// <summary>T, the inner steps used in training (and by default at prediction).</summary>
    public int InnerSteps { get; }
    /// <summary>η.</summary>
    public double InnerLearningRate { get; }
    /// <summary>λ.</summary>
    public double RepresentationWeight { get; }
    /// <summary>Inner momentum.</summary>
    public double Momentum { get; }
    /// <summary>Cost inside L_repr.</summary>
    public PairwiseCost RepresentationCost { get; }
    /// <summary>The fixed batch constant of L_repr.</summary>
    public double RepresentationBatch { get; }
    /// <summary>Whether the outer set loss is averaged over every inner step (else applied to the final set only).</summary>
    public bool LossOnEveryStep { get; }
    /// <summary>
    /// Whether the inner loop steps the presence's logit (p stays inside (0, 1) unless the logit is so large that float
    /// rounds σ to 0 or 1) rather than p itself clamped to
    /// [0, 1] (the paper). The clamp leaves many slots at exactly 1 or 0, which ties their confidences when detections
    /// are ranked by presence (average precision).
    /// </summary>
    public bool LogitPresence { get; }
    /// <summary>Where the inner loop starts.</summary>
    public DspnInitialSet InitialSetKind { get; }
    /// <summary>The learned initial set Ŷ⁽⁰⁾ <c>[1, N, d]</c> (<see cref="DspnInitialSet.Learned"/>).</summary>
    public Tensor InitialSet => initialSet ?? throw new InvalidOperationException("This DSPN predicts its initial set from z (InitialSetKind FromLatent).");
    /// <summary>The learned initial presence <c>[1, N]</c> (<see cref="DspnInitialSet.Learned"/>).</summary>
    public Tensor InitialPresence => initialPresence ?? throw new InvalidOperationException("This DSPN predicts its initial set from z (InitialSetKind FromLatent).");

    /// <summary>L_repr(Ŷ, z) = Σ_b mean_k c(g_enc(Ŷ_b)_k − z_bk) / batch constant.</summary>
    public Tensor RepresentationLoss(Tensor elements, Tensor presence, Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var diff = encoder.forward(elements, presence) - z;
        return (SetLosses.Elementwise(diff, RepresentationCost).mean(new long[] { -1 }).sum().DivScalar(RepresentationBatch)).MoveToOuterDisposeScope();
    }

    private const double PresenceEpsilon = 1e-6;

    /// <summary>One inner step (Algorithm 1, line 5) without momentum, with the presence clamp (or the logit step); returns the new state.</summary>
    public PredictedSetState InnerStep(PredictedSetState state, Tensor z, bool createGraph)
    {
        (Tensor?, Tensor?) noMomentum = (null, null);
        return Step(state, z, createGraph, ref noMomentum);
    }

    // Ŷ ← Ŷ − η ∂L_repr/∂Ŷ (heavy-ball velocity v ← μ v + g when Momentum > 0); presence clamped to [0, 1].
    private PredictedSetState Step(PredictedSetState state, Tensor z, bool createGraph, ref (Tensor? Y, Tensor? P) velocity)
    {
        var l = RepresentationLoss(state.Elements, state.Presence, z);
        var g = torch.autograd.grad(new[] { l }, new[] { state.Elements, state.Presence }, retain_graph: createGraph, create_graph: createGraph);
        Tensor gy = g[0], gp = g[1];
        if (Momentum > 0)
        {
            velocity = (velocity.Y is null ? gy : velocity.Y.MulScalar(Momentum).Plus(gy), velocity.P is null ? gp : velocity.P.MulScalar(Momentum).Plus(gp));
            (gy, gp) = (velocity.Y!, velocity.P!);
        }
        var elements = state.Elements - gy.MulScalar(InnerLearningRate);
        if (!LogitPresence) return new PredictedSetState(elements, (state.Presence - gp.MulScalar(InnerLearningRate)).ClampScalar(0, 1));
        // ℓ = logit(p) (p kept off 0 and 1), ∂L/∂ℓ = ∂L/∂p · p(1 − p).
        var p = state.Presence.ClampScalar(PresenceEpsilon, 1 - PresenceEpsilon);
        var q = p.RSubScalar(1);
        var logit = p.log() - q.log();
        return new PredictedSetState(elements, (logit - (gp * p * q).MulScalar(InnerLearningRate)).sigmoid());
    }

    /// <inheritdoc />
    public override IReadOnlyList<PredictedSetState> Decode(Tensor z, bool training, int? steps = null)
    {
        int t = steps ?? InnerSteps;
        long b = z.shape[0];
        // The inner loop needs gradients even when predicting under no_grad.
        using var grad = torch.enable_grad();
        var zz = training ? z : z.detach();
        var state = initialDecoder is null
            ? new PredictedSetState(initialSet!.expand(b, -1, -1), initialPresence!.expand(b, -1).ClampScalar(0, 1))
            : initialDecoder.Decode(zz, training)[0];
        if (!training) state = Detached(state, requiresGrad: true);
        var states = new List<PredictedSetState>(t + 1) { state };
        (Tensor?, Tensor?) velocity = (null, null);
        for (int step = 0; step < t; step++)
        {
            state = Step(state, zz, createGraph: training, ref velocity);
            if (!training) state = Detached(state, requiresGrad: true);   // prediction: no graph across steps
            states.Add(state);
        }
        if (!training)
            for (int i = 0; i < states.Count; i++) states[i] = Detached(states[i], requiresGrad: false);
        return states;
    }

    private static PredictedSetState Detached(PredictedSetState s, bool requiresGrad)
        => requiresGrad
            ? new PredictedSetState(s.Elements.detach().requires_grad_(), s.Presence.detach().requires_grad_())
            : new PredictedSetState(s.Elements.detach(), s.Presence.detach());

    /// <inheritdoc />
    public override IReadOnlyList<PredictedSetState> LossStates(IReadOnlyList<PredictedSetState> states)
        => LossOnEveryStep ? states : new[] { states[^1] };

    /// <summary>λ·L_repr(Y, z): makes the target set itself encode to z (paper eq. 6).</summary>
    public override Tensor? AuxiliaryLoss(Tensor z, Tensor target, Tensor targetMask)
        => RepresentationWeight > 0 ? RepresentationLoss(target, targetMask.to_type(target.dtype), z).MulScalar(RepresentationWeight) : null;
}
