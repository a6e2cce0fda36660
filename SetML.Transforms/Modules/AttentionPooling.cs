using SetML.Models;
using SetML.Modules;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules
{
    /// <summary>
    /// Dot-product attention pooling, the "rFF + Dotprod" baseline of the Set Transformer paper (after Yang et al. 2018,
    /// AttSets, and Ilse et al. 2018): row-wise features, then a weighted sum with softmax weights from a learned query:
    /// <code>
    ///   h_i = rFF(x_i),   a = softmax_i(q · W_k h_i / √d_k),   f(X) = ρ(Σ_i a_i h_i)
    /// </code>
    /// The softmax runs over real elements only; an empty set gives ρ(0). O(n). Not mini-batch consistent as written
    /// (the softmax normalises over the whole set).
    /// </summary>
    public sealed class AttentionPoolingEncoder : SetEncoder
    {
        private readonly Mlp phi;
        private readonly Linear key;
        private readonly Parameter query;
        private readonly Mlp rho;
        private readonly double scale;

        /// <summary>Creates the row-wise rFF φ, the key projection, the learned query and ρ.</summary>
        /// <param name="inputDimension">Element dimension d.</param>
        /// <param name="options">The architecture (see <see cref="AttentionPoolingOptions"/>).</param>
        public AttentionPoolingEncoder(int inputDimension, AttentionPoolingOptions options) : base(nameof(AttentionPoolingEncoder))
        {
            ArgumentNullException.ThrowIfNull(options);
            int attention = options.AttentionDimension;
            phi = options.CreatePhi(inputDimension);
            key = nn.Linear(options.LatentDimension, attention, hasBias: false);
            scale = 1.0 / Math.Sqrt(attention);
            query = nn.Parameter(torch.randn(attention).MulScalar(scale));
            rho = options.CreateRho();
            InputDimension = inputDimension;
            OutputDimension = options.EmbeddingDimension;
            RegisterComponents();
        }

        /// <inheritdoc />
        public override int InputDimension { get; }

        /// <inheritdoc />
        public override int OutputDimension { get; }

        /// <summary>The attention weights <c>[B, N]</c> (0 at padding; all 0 for an empty set).</summary>
        public Tensor Weights(Tensor x, Tensor mask)
        {
            using var scope = torch.NewDisposeScope();
            return AttentionWeights(phi.forward(x), mask).MoveToOuterDisposeScope();
        }

        private Tensor AttentionWeights(Tensor h, Tensor mask)
        {
            var score = key.forward(h).matmul(query).MulScalar(scale);                          // q · W_k h_i / √d_k   [B, N]
            score = score.MaskedFillScalar(mask.logical_not(), -1e30);                 // finite: an empty row stays NaN-free, also in backward
            var a = score.softmax(-1);
            return a.MaskedFillScalar(mask.logical_not(), 0);                               // padding (and empty sets) → 0
        }

        /// <inheritdoc />
        public override Tensor forward(Tensor x, Tensor mask)
        {
            using var scope = torch.NewDisposeScope();
            var h = phi.forward(x);
            var a = AttentionWeights(h, mask);
            var pooled = a.unsqueeze(1).matmul(h).squeeze(1);                          // Σ_i a_i h_i   [B, latent]
            return rho.forward(pooled).MoveToOuterDisposeScope();
        }
    }
}

namespace SetML.Models
{
    /// <summary>Options of the <see cref="AttentionPoolingEncoder"/>: the Set Transformer paper's "rFF + Dotprod" baseline. Not mini-batch consistent.</summary>
    [SpecType("encoder.attention-pooling")]
    public sealed class AttentionPoolingOptions : PhiPoolRhoOptions
    {
        /// <summary>
        /// Hidden widths of the row-wise rFF. Default: [128, 128]. Measured on the <c>point-sets</c> benchmark (Fashion-MNIST
        /// point sets, 5,000 training images, 5 epochs): 0.5510 test accuracy with rFF [128, 128] → 256, keys 64, ρ [128],
        /// embedding 128 against 0.5055 with the former [64] → 64, keys 32, ρ [64], embedding 32. Weaker than Deep Sets with
        /// sum or max pooling on such data: the pooled vector is a weighted mean, see docs/encoders.md.
        /// </summary>
        public override int[] PhiHiddenSizes { get; set; } = { 128, 128 };
        /// <summary>Width of the pooled features. Default: 256 (see <see cref="PhiHiddenSizes"/>; formerly 64).</summary>
        public override int LatentDimension { get; set; } = 256;
        /// <summary>Width of keys and query. Default: 64 (see <see cref="PhiHiddenSizes"/>; formerly 32).</summary>
        public int AttentionDimension { get; set; } = 64;
        /// <summary>Hidden widths of ρ. Default: [128] (see <see cref="PhiHiddenSizes"/>; formerly [64]).</summary>
        public override int[] RhoHiddenSizes { get; set; } = { 128 };
        /// <summary>Embedding size. Default: 128 (see <see cref="PhiHiddenSizes"/>; formerly 32).</summary>
        public override int EmbeddingDimension { get; set; } = 128;
        /// <summary>Activation. Default: ReLU.</summary>
        public override Activation Activation { get; set; } = Activation.ReLU;

        // Keys, scores, masked scores, softmax and weights per element: about AttentionDimension + 5 floats each.
        /// <inheritdoc />
        protected override double PoolingBytes(double batch, double setSize) => batch * setSize * (AttentionDimension + 5.0) * ForwardMemory.FloatBytes;

        /// <inheritdoc />
        public override string MemoryGrowth => "linear in the set size";

        /// <inheritdoc />
        public override AttentionPoolingEncoder CreateEncoder(int elementDimension) => new(elementDimension, this);
    }
}
