using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// A set encoder followed by an MLP head: <c>head(encoder(x, mask))</c>. The network behind every SetML
/// set → vector task (featurizers keep using <see cref="Embed"/>; trainers use <see cref="forward"/>).
/// </summary>
public sealed class EncoderHeadNetwork : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly SetEncoder encoder;
    private readonly Mlp head;

    /// <summary>Creates the network.</summary>
    public EncoderHeadNetwork(SetEncoder encoder, IReadOnlyList<int> headHidden, int outputDimension, double dropout = 0)
        : base(nameof(EncoderHeadNetwork))
    {
        this.encoder = encoder;
        head = new Mlp(encoder.OutputDimension, headHidden, outputDimension, Activation.ReLU, activateLast: false, dropout: dropout);
        RegisterComponents();
    }

    /// <summary>The set encoder.</summary>
    public SetEncoder Encoder => encoder;

    /// <summary>The embedding <c>[B, D]</c> of a batch of sets.</summary>
    public Tensor Embed(Tensor x, Tensor mask) => encoder.forward(x, mask);

    /// <summary>The head applied to embeddings <c>[B, D]</c> (what <see cref="forward"/> does after the encoder).</summary>
    public Tensor Head(Tensor embedding) => head.forward(embedding);

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor mask)
    {
        // The embedding is disposed here, without a dispose scope (a HashSet per call: docs/performance.md, "prediction").
        using var embedding = encoder.forward(x, mask);
        return head.forward(embedding);
    }
}
