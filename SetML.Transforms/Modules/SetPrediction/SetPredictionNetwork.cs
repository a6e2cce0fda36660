using SetML.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules.SetPrediction;

/// <summary>What a <see cref="SetPredictionNetwork"/> encodes its input with.</summary>
public enum SetPredictionInput
{
    /// <summary>A fixed-size vector through a vector encoder F (MLP or CNN): supervised set prediction.</summary>
    Vector,
    /// <summary>A set through its own set encoder (auto-encoding with a separate encoder; DSPN adds λ·L_repr).</summary>
    Set,
    /// <summary>A set through the DSPN decoder's own g_enc: the paper's set auto-encoder (§3.1), no λ term.</summary>
    SharedSetEncoder,
}

/// <summary>
/// Input encoder F (vector or set) + <see cref="SetDecoder"/>: <c>z = F(x)</c>, <c>Ŷ = g_dec(z)</c>, and the outer loss
/// <c>mean_t L_set(Ŷ⁽ᵗ⁾, Y) + auxiliary(z, Y)</c> (Algorithm 1, line 8).
/// </summary>
public sealed class SetPredictionNetwork : nn.Module
{
    private readonly nn.Module<Tensor, Tensor>? vectorEncoder;
    private readonly SetEncoder? setEncoder;
    private readonly SetDecoder decoder;

    /// <summary>Supervised: a vector encoder F then the decoder.</summary>
    public SetPredictionNetwork(nn.Module<Tensor, Tensor> vectorEncoder, SetDecoder decoder) : base(nameof(SetPredictionNetwork))
    {
        this.vectorEncoder = vectorEncoder;
        this.decoder = decoder;
        Input = SetPredictionInput.Vector;
        RegisterComponents();
    }

    /// <summary>Set input: <paramref name="setEncoder"/> null = share the DSPN decoder's g_enc (auto-encoder).</summary>
    public SetPredictionNetwork(SetEncoder? setEncoder, SetDecoder decoder) : base(nameof(SetPredictionNetwork))
    {
        if (setEncoder is null && decoder is not DeepSetPredictionNetwork)
            throw new ArgumentException("Only a DSPN decoder has an encoder to share; give a set encoder for other decoders.", nameof(setEncoder));
        this.setEncoder = setEncoder;
        this.decoder = decoder;
        Input = setEncoder is null ? SetPredictionInput.SharedSetEncoder : SetPredictionInput.Set;
        RegisterComponents();
    }

    /// <summary>The paper's set auto-encoder (§3.1): z = g_enc(Y) with the DSPN decoder's own encoder.</summary>
    public static SetPredictionNetwork AutoEncoder(DeepSetPredictionNetwork decoder) => new((SetEncoder?)null, decoder);

    /// <summary>How the input is encoded.</summary>
    public SetPredictionInput Input { get; }

    /// <summary>The decoder.</summary>
    public SetDecoder Decoder => decoder;

    /// <summary>The set encoder of a set input (the DSPN g_enc when shared), or null for vector input.</summary>
    public SetEncoder? SetEncoder => Input == SetPredictionInput.SharedSetEncoder ? ((DeepSetPredictionNetwork)decoder).Encoder : setEncoder;

    /// <summary>z = F(x): <c>x [B, F]</c> (vector) or <c>x [B, N, d]</c> with mask <c>[B, N]</c> (set).</summary>
    public Tensor Encode(Tensor x, Tensor? mask)
        => Input == SetPredictionInput.Vector
            ? vectorEncoder!.forward(x)
            : SetEncoder!.forward(x, mask ?? throw new ArgumentNullException(nameof(mask), "A set input needs its mask."));

    /// <summary>The outer loss of a batch (mean over the decoder's states of the set loss, plus the auxiliary term).</summary>
    public Tensor Loss(Tensor x, Tensor? mask, Tensor target, Tensor targetMask, SetLossKind loss, PairwiseCost cost)
    {
        using var scope = torch.NewDisposeScope();
        var z = Encode(x, mask);
        var states = decoder.LossStates(decoder.Decode(z, training: true));
        Tensor total = torch.zeros(1, dtype: target.dtype, device: target.device).squeeze();
        foreach (var s in states)
            total = total.Plus(loss == SetLossKind.Chamfer
                ? SetLosses.Chamfer(s.Elements, s.Presence, target, targetMask, cost)
                : SetLosses.Hungarian(s.Elements, s.Presence, target, targetMask, cost));
        total = total.DivScalar(states.Count);
        if (Input != SetPredictionInput.SharedSetEncoder && decoder.AuxiliaryLoss(z, target, targetMask) is { } aux) total = total.Plus(aux);
        return total.MoveToOuterDisposeScope();
    }
}
