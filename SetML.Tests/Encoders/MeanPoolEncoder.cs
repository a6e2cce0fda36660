using SetML.Models;
using SetML.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>
/// A new encoder written the way a user would add one — this file and nothing else (no catalog line, no registration):
/// <c>f(X) = W · mean_{x∈X} x + b</c>. Trained, saved and loaded through the ordinary trainers and featurizers
/// (<see cref="AddingAnEncoderTests"/>) and covered by the shared checks of <see cref="AllEncodersTests"/>, which find
/// it by reflection. Mini-batch consistent because it implements <see cref="IMiniBatchConsistentEncoder"/>.
/// </summary>
public sealed class MeanPoolEncoder : SetEncoder, IMiniBatchConsistentEncoder
{
    private readonly Linear linear;

    /// <summary>Creates W: d → <see cref="MeanPoolOptions.EmbeddingDimension"/>.</summary>
    public MeanPoolEncoder(int inputDimension, MeanPoolOptions options) : base(nameof(MeanPoolEncoder))
    {
        linear = nn.Linear(inputDimension, options.EmbeddingDimension);
        InputDimension = inputDimension;
        OutputDimension = options.EmbeddingDimension;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int InputDimension { get; }

    /// <inheritdoc />
    public override int OutputDimension { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        return linear.forward(MaskedPooling.Pool(x, mask, PoolingKind.Mean)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public PoolingKind StreamAggregation => PoolingKind.Mean;

    /// <inheritdoc />
    public Tensor? BeginStream(int batchSize) => null;

    /// <inheritdoc />
    public Tensor EncodeChunk(Tensor x, Tensor mask, Tensor? context) => MiniBatchConsistentPooling.Partial(x, mask, PoolingKind.Mean);

    /// <inheritdoc />
    public Tensor FinishStream(Tensor pooled, Tensor? context) => linear.forward(pooled);
}

/// <summary>Options of the <see cref="MeanPoolEncoder"/> (what its constructor takes; serialized into model files).</summary>
[SpecType("test.mean-pool")]
public sealed class MeanPoolOptions : SetEncoderOptions
{
    /// <summary>Embedding size. Default: 4.</summary>
    public int EmbeddingDimension { get; set; } = 4;

    /// <inheritdoc />
    public override MeanPoolEncoder CreateEncoder(int elementDimension) => new(elementDimension, this);

    /// <inheritdoc />
    public override double EstimateForwardBytes(int elementDimension, double batch, double setSize)
        => ForwardMemory.SetInput(batch, setSize, elementDimension) + ForwardMemory.Pooling(batch, setSize, elementDimension)
           + batch * EmbeddingDimension * ForwardMemory.FloatBytes;

    /// <inheritdoc />
    public override string MemoryGrowth => "linear in the set size";
}
