using SetML.Models;
using SetML.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules
{
    /// <summary>
    /// Deep Sets encoder (Zaheer et al. 2017): <c>f(X) = ρ(pool_{x∈X} φ(x))</c>, with φ an MLP applied to each
    /// element (rFF), pool ∈ {sum, mean, max, min} over real elements only, and ρ an MLP on the pooled vector.
    /// Permutation-invariant, mini-batch consistent for sum/max/min (and for mean via running counts).
    /// </summary>
    public sealed class DeepSetsEncoder : SetEncoder, IMiniBatchConsistentEncoder
    {
        private readonly Mlp phi;
        private readonly Mlp rho;

        /// <summary>Creates φ: d → <see cref="DeepSetsOptions.PhiHiddenSizes"/>… → latent and ρ: latent → <see cref="DeepSetsOptions.RhoHiddenSizes"/>… → embedding.</summary>
        /// <param name="inputDimension">Element dimension d.</param>
        /// <param name="options">The architecture (widths, pooling, activation).</param>
        public DeepSetsEncoder(int inputDimension, DeepSetsOptions options) : base(nameof(DeepSetsEncoder))
        {
            ArgumentNullException.ThrowIfNull(options);
            phi = new Mlp(inputDimension, options.PhiHiddenSizes, options.LatentDimension, options.Activation, activateLast: true);
            rho = new Mlp(options.LatentDimension, options.RhoHiddenSizes, options.EmbeddingDimension, options.Activation, activateLast: false);
            Pooling = options.Pooling;
            InputDimension = inputDimension;
            OutputDimension = options.EmbeddingDimension;
            LatentDimension = options.LatentDimension;
            RegisterComponents();
        }

        /// <summary>The symmetric pooling over elements.</summary>
        public PoolingKind Pooling { get; }

        /// <summary>Width of φ's output (the pooled representation).</summary>
        public int LatentDimension { get; }

        /// <inheritdoc />
        public override int InputDimension { get; }

        /// <inheritdoc />
        public override int OutputDimension { get; }

        /// <summary>φ applied to every element: <c>[B, N, d] → [B, N, latent]</c>.</summary>
        public Tensor Phi(Tensor x) => phi.forward(x);

        /// <summary>ρ applied to a pooled representation.</summary>
        public Tensor Rho(Tensor pooled) => rho.forward(pooled);

        /// <inheritdoc />
        public override Tensor forward(Tensor x, Tensor mask)
        {
            using var scope = torch.NewDisposeScope();
            var pooled = MaskedPooling.Pool(phi.forward(x), mask, Pooling);
            return rho.forward(pooled).MoveToOuterDisposeScope();
        }

        /// <inheritdoc />
        public PoolingKind StreamAggregation => Pooling;

        /// <summary>Nothing is shared between chunks: the state is pool(φ(x)) of the elements seen so far.</summary>
        public Tensor? BeginStream(int batchSize) => null;

        /// <summary>The unnormalised pool of φ over the chunk's real elements.</summary>
        public Tensor EncodeChunk(Tensor x, Tensor mask, Tensor? context)
        {
            using var scope = torch.NewDisposeScope();
            return MiniBatchConsistentPooling.Partial(phi.forward(x), mask, Pooling).MoveToOuterDisposeScope();
        }

        /// <summary>ρ of the merged pool.</summary>
        public Tensor FinishStream(Tensor pooled, Tensor? context) => rho.forward(pooled);
    }
}

namespace SetML.Models
{
    /// <summary>Options of the <see cref="DeepSetsEncoder"/>: ρ(pool φ(x)).</summary>
    [SpecType("encoder.deep-sets")]
    public sealed class DeepSetsOptions : SetEncoderOptions
    {
        /// <summary>Hidden widths of φ (per-element MLP). Default: [64, 64].</summary>
        public int[] PhiHiddenSizes { get; set; } = { 64, 64 };
        /// <summary>Width of φ's output, the pooled representation. Default: 64.</summary>
        public int LatentDimension { get; set; } = 64;
        /// <summary>Hidden widths of ρ (MLP after pooling). Default: [64].</summary>
        public int[] RhoHiddenSizes { get; set; } = { 64 };
        /// <summary>Size of the embedding the encoder outputs. Default: 32.</summary>
        public int EmbeddingDimension { get; set; } = 32;
        /// <summary>Symmetric pooling over elements. Default: <see cref="PoolingKind.Sum"/>.</summary>
        public PoolingKind Pooling { get; set; } = PoolingKind.Sum;
        /// <summary>Activation of φ and ρ. Default: ReLU.</summary>
        public Activation Activation { get; set; } = Activation.ReLU;

        /// <inheritdoc />
        public override int CreateEmbeddingDimension(int elementDimension) => EmbeddingDimension;

        /// <inheritdoc />
        public override double EstimateForwardBytes(int elementDimension, double batch, double setSize)
            => ForwardMemory.SetInput(batch, setSize, elementDimension) + ForwardMemory.Mlp(batch * setSize, PhiHiddenSizes, LatentDimension)
               + ForwardMemory.Pooling(batch, setSize, LatentDimension) + ForwardMemory.Mlp(batch, RhoHiddenSizes, EmbeddingDimension);

        /// <inheritdoc />
        public override string MemoryGrowth => "linear in the set size";

        /// <inheritdoc />
        public override DeepSetsEncoder CreateEncoder(int elementDimension) => new(elementDimension, this);
    }
}
