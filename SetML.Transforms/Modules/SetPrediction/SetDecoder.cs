using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules.SetPrediction;

/// <summary>One predicted set: elements <c>[B, N, d]</c> and their presence <c>[B, N]</c> in [0, 1] (≥ 0.5 = in the set).</summary>
/// <param name="Elements">The N element slots.</param>
/// <param name="Presence">Soft presence of each slot (DSPN's mask feature).</param>
public readonly record struct PredictedSetState(Tensor Elements, Tensor Presence);

/// <summary>
/// Base of every vector → set decoder: <c>Decode(z [B, D])</c> returns the sequence of predicted sets it went through
/// (one for one-shot decoders such as the MLP; T + 1 for DSPN's inner loop); the last one is the prediction. The
/// outer loss averages the set loss over all of them (DSPN §3.2 "practical tricks").
/// </summary>
public abstract class SetDecoder : nn.Module
{
    /// <summary>Creates the decoder module.</summary>
    protected SetDecoder(string name, int latentDimension, int elementDimension, int slots) : base(name)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), slots, "The maximum set size must be ≥ 1.");
        LatentDimension = latentDimension;
        ElementDimension = elementDimension;
        Slots = slots;
    }

    /// <summary>Size D of the vector z the decoder reads.</summary>
    public int LatentDimension { get; }

    /// <summary>Element dimension d of the predicted set.</summary>
    public int ElementDimension { get; }

    /// <summary>Number of element slots N (the largest set the decoder can predict).</summary>
    public int Slots { get; }

    /// <summary>
    /// Decodes <paramref name="z"/>. <paramref name="training"/> = true keeps the graph for the outer loss;
    /// <paramref name="steps"/> overrides an iterative decoder's number of refinement steps (ignored by one-shot decoders).
    /// </summary>
    public abstract IReadOnlyList<PredictedSetState> Decode(Tensor z, bool training, int? steps = null);

    /// <summary>
    /// The states of <see cref="Decode"/> that the outer loss averages the set loss over: all of them by default (the
    /// DSPN paper's Algorithm 1, line 8); a decoder may use only the last (the DSPN reference code with the Hungarian loss).
    /// </summary>
    public virtual IReadOnlyList<PredictedSetState> LossStates(IReadOnlyList<PredictedSetState> states) => states;

    /// <summary>
    /// An extra term of the outer loss given the target set (DSPN: λ·L_repr(Y, z) for supervised prediction), or null.
    /// </summary>
    public virtual Tensor? AuxiliaryLoss(Tensor z, Tensor target, Tensor targetMask) => null;
}
