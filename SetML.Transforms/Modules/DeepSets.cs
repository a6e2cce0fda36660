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
            phi = options.CreatePhi(inputDimension);
            rho = options.CreateRho();
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
            // Disposed as they go, without a dispose scope (a HashSet per call: docs/performance.md, "prediction").
            using var h = phi.forward(x);
            using var pooled = MaskedPooling.Pool(h, mask, Pooling, overwriteInput: true);
            return rho.forward(pooled);
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
    public sealed class DeepSetsOptions : PhiPoolRhoOptions
    {
        /// <summary>
        /// Hidden widths of φ (per-element MLP). Default: [128, 128] — with <see cref="LatentDimension"/> 256 the papers'
        /// point-cloud φ (3→128→128→256). Measured on the <c>point-sets</c> benchmark (Fashion-MNIST point sets, 20,000
        /// training images, 5 epochs, max pooling): 0.7249 test accuracy against 0.6977 with the former [64, 64] / 64 / [64] / 32
        /// (docs/results.md); at a quarter of the data (5,000 images) 0.6555 against 0.6080.
        /// </summary>
        public override int[] PhiHiddenSizes { get; set; } = { 128, 128 };
        /// <summary>Width of φ's output, the pooled representation. Default: 256 (see <see cref="PhiHiddenSizes"/>; formerly 64).</summary>
        public override int LatentDimension { get; set; } = 256;
        /// <summary>Hidden widths of ρ (MLP after pooling). Default: [128] (the papers' 256→128; see <see cref="PhiHiddenSizes"/>; formerly [64]).</summary>
        public override int[] RhoHiddenSizes { get; set; } = { 128 };
        /// <summary>Size of the embedding the encoder outputs. Default: 128 (see <see cref="PhiHiddenSizes"/>; formerly 32).</summary>
        public override int EmbeddingDimension { get; set; } = 128;
        /// <summary>
        /// Symmetric pooling over elements. Default: <see cref="PoolingKind.Sum"/>, the best measured on the <c>point-sets</c>
        /// benchmark (5,000 training images, 5 epochs, default widths): sum 0.6800, max 0.6480, mean 0.5720 test accuracy.
        /// There Deep Sets is 6 points below FSPool (0.7400), whose pooling keeps every order statistic of each feature
        /// rather than one number (docs/encoders.md).
        /// </summary>
        public PoolingKind Pooling { get; set; } = PoolingKind.Sum;
        /// <summary>Activation of φ and ρ. Default: ReLU.</summary>
        public override Activation Activation { get; set; } = Activation.ReLU;

        /// <inheritdoc />
        protected override double PoolingBytes(double batch, double setSize) => ForwardMemory.Pooling(batch, setSize, LatentDimension);

        /// <inheritdoc />
        public override string MemoryGrowth => "linear in the set size";

        /// <inheritdoc />
        public override DeepSetsEncoder CreateEncoder(int elementDimension) => new(elementDimension, this);
    }
}
