using SetML.Losses;
using SetML.Models;
using SetML.Modules.SetPrediction;
using SetML.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules.SetPrediction
{
    /// <summary>Pooling of a <see cref="RelaxedDeepSetsEncoder"/> over presence-weighted elements.</summary>
    public enum RelaxedPooling
    {
        /// <summary>(1/N) Σ_i p_i φ([y_i, p_i]) with N the model's fixed slot count (DSPN's sum pooling with a constant scale).</summary>
        Sum,
        /// <summary>Σ_i p_i φ([y_i, p_i]) / Σ_i p_i (0 for an empty set).</summary>
        Mean,
        /// <summary>
        /// FSPool (Zhang et al. 2019b, the pooling of DSPN's experiments) over the N slots of p_i φ([y_i, p_i]), times 1/N.
        /// Sets with fewer rows are zero-padded to N slots first (p = 0), so padding never changes the result.
        /// </summary>
        FSPool,
    }

    /// <summary>
    /// The set encoder g_enc of DSPN: a Deep Sets encoder whose elements carry a soft presence p ∈ [0, 1] (the paper's
    /// mask feature, §3.1 "variable-size sets"): <c>g(Y, p) = pool_i p_i · φ([y_i, p_i])</c>. Because it is differentiable
    /// in both y and p, the inner loop can move elements and switch them on and off. A boolean mask is read as p ∈ {0, 1},
    /// so it is also an ordinary <see cref="SetEncoder"/> (padding has p = 0 and never changes the result).
    /// </summary>
    /// <remarks>
    /// Departure from the paper: the sum is scaled by the constant 1/N (N = the predictor's slot count, fixed at
    /// construction, not the padded length of a batch). With η = 800 the inner loop diverges without it
    /// (measured with the PyTorch reference of the DSPN auto-encoder), and a constant keeps the encoding of a set independent of its padding.
    /// </remarks>
    public sealed class RelaxedDeepSetsEncoder : SetEncoder
    {
        private readonly Mlp phi;
        private readonly double scale;
        private readonly int slots;
        private readonly FSPool? fspool;

        /// <summary>Creates φ: (d + 1) → <see cref="RelaxedDeepSetsOptions.HiddenSizes"/>… → embedding, pooled by <see cref="RelaxedDeepSetsOptions.Pooling"/>.</summary>
        /// <param name="inputDimension">Element dimension d (the presence feature is added).</param>
        /// <param name="options">Hidden widths of φ (DSPN: 256, 256), size of the latent z (DSPN: 64), the presence-weighted
        /// pooling, and N, the constant 1/N scale of <see cref="RelaxedPooling.Sum"/>.</param>
        public RelaxedDeepSetsEncoder(int inputDimension, RelaxedDeepSetsOptions options)
            : base(nameof(RelaxedDeepSetsEncoder))
        {
            ArgumentNullException.ThrowIfNull(options);
            if (options.Slots < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Slots, "The slot count (Slots) must be ≥ 1.");
            phi = new Mlp(inputDimension + 1, options.HiddenSizes, options.EmbeddingDimension, Activation.ReLU, activateLast: false);
            InputDimension = inputDimension;
            OutputDimension = options.EmbeddingDimension;
            Pooling = options.Pooling;
            scale = 1.0 / options.Slots;
            slots = options.Slots;
            if (Pooling == RelaxedPooling.FSPool) fspool = new FSPool(OutputDimension, 20);
            RegisterComponents();
        }

        /// <inheritdoc />
        public override int InputDimension { get; }

        /// <inheritdoc />
        public override int OutputDimension { get; }

        /// <summary>The pooling.</summary>
        public RelaxedPooling Pooling { get; }

        /// <summary>Encodes <c>x [B, N, d]</c> with presence <c>[B, N]</c> (float in [0, 1], or bool) → <c>[B, output]</c>.</summary>
        public override Tensor forward(Tensor x, Tensor presence)
        {
            using var scope = torch.NewDisposeScope();
            var p = presence.dtype == ScalarType.Bool ? presence.to_type(x.dtype) : presence;
            var h = phi.forward(torch.cat(new[] { x, p.unsqueeze(-1) }, -1)) * p.unsqueeze(-1);   // p_i φ([y_i, p_i])
            var pooled = Pooling switch
            {
                RelaxedPooling.Sum => h.sum(1).MulScalar(scale),
                RelaxedPooling.Mean => h.sum(1) / p.sum(1, keepdim: true).ClampMinScalar(1e-6),
                _ => FsPool(h),
            };
            return pooled.MoveToOuterDisposeScope();
        }

        // FSPool over exactly N slots (all "real": the presence already weights them), as the DSPN reference does.
        private Tensor FsPool(Tensor h)
        {
            if (h.shape[1] > slots)
                throw new ArgumentException($"FSPool pooling reads at most {slots} slots, but the set has {h.shape[1]} rows.");
            if (h.shape[1] < slots) h = nn.functional.pad(h, new long[] { 0, 0, 0, slots - h.shape[1] });
            var all = torch.ones(h.shape[0], slots, dtype: ScalarType.Bool, device: h.device);
            return fspool!.forward(h, all).MulScalar(scale);
        }
    }
}

namespace SetML.Models
{
    /// <summary>
    /// Options of the presence-weighted Deep Sets encoder that DSPN uses as g_enc (<see cref="RelaxedDeepSetsEncoder"/>);
    /// also usable as an ordinary set encoder.
    /// </summary>
    [SpecType("encoder.relaxed-deep-sets")]
    public sealed class RelaxedDeepSetsOptions : SetEncoderOptions
    {
        /// <summary>Hidden widths of φ. Default: [256, 256].</summary>
        public int[] HiddenSizes { get; set; } = { 256, 256 };
        /// <summary>Embedding size. Default: 64.</summary>
        public int EmbeddingDimension { get; set; } = 64;
        /// <summary>Pooling. Default: sum scaled by 1/<see cref="Slots"/>.</summary>
        public RelaxedPooling Pooling { get; set; } = RelaxedPooling.Sum;
        /// <summary>N of the constant 1/N scale (set-prediction trainers set it to the maximum set size). Default: 1.</summary>
        public int Slots { get; set; } = 1;

        /// <inheritdoc />
        public override int CreateEmbeddingDimension(int elementDimension) => EmbeddingDimension;

        /// <inheritdoc />
        public override RelaxedDeepSetsEncoder CreateEncoder(int elementDimension) => new(elementDimension, this);

        /// <inheritdoc />
        public override double EstimateForwardBytes(int elementDimension, double batch, double setSize)
            => ForwardMemory.SetInput(batch, setSize, elementDimension + 1) + ForwardMemory.Mlp(batch * setSize, HiddenSizes, EmbeddingDimension)
               + batch * Math.Max(setSize, Slots) * EmbeddingDimension * 3 * ForwardMemory.FloatBytes;

        /// <inheritdoc />
        public override string MemoryGrowth => "linear in the set size";
    }
}
