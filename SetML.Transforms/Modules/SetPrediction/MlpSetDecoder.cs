using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules.SetPrediction;

/// <summary>
/// The baseline of the DSPN paper: an MLP maps z to a list of N elements, each with a mask feature
/// (<c>z → hidden… → N·(d + 1)</c>), and the list is treated as a set. Simple and fast, but it suffers from the
/// responsibility problem: output slot k has to decide which element it is responsible for, a discontinuous choice.
/// </summary>
/// <remarks>Departure: the presence is sigmoid(mask logit) so it stays in [0, 1] with a gradient everywhere.</remarks>
public sealed class MlpSetDecoder : SetDecoder
{
    private readonly Mlp mlp;

    /// <summary>Creates the decoder.</summary>
    public MlpSetDecoder(int latentDimension, int elementDimension, int slots, IReadOnlyList<int> hidden)
        : base(nameof(MlpSetDecoder), latentDimension, elementDimension, slots)
    {
        mlp = new Mlp(latentDimension, hidden, slots * (elementDimension + 1), Activation.ReLU, activateLast: false);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override IReadOnlyList<PredictedSetState> Decode(Tensor z, bool training, int? steps = null)
    {
        var o = mlp.forward(z).view(z.shape[0], Slots, ElementDimension + 1);
        var elements = o.narrow(2, 0, ElementDimension);
        var presence = o.select(2, ElementDimension).sigmoid();
        return new[] { new PredictedSetState(elements, presence) };
    }
}
