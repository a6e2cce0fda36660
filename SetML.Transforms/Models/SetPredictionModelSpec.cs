using SetML.Losses;
using SetML.Modules;
using SetML.Modules.SetPrediction;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Models;

/// <summary>
/// Chooses and configures a vector → set decoder (DSPN, transformer set predictor, MLP baseline). Serialized into the
/// model file.
/// </summary>
[PolymorphicSpec]
public abstract class SetDecoderOptions
{
    /// <summary>Size of the vector z the input encoder produces for this decoder (vector inputs). Default: 64.</summary>
    public int LatentDimension { get; set; } = 64;

    /// <summary>Builds the decoder reading z of size <paramref name="latentDimension"/> and predicting up to <paramref name="slots"/> elements of dimension <paramref name="elementDimension"/>.</summary>
    public abstract SetDecoder CreateDecoder(int latentDimension, int elementDimension, int slots);

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public virtual void Validate()
    {
        if (LatentDimension < 1) throw new ArgumentOutOfRangeException(nameof(LatentDimension), LatentDimension, "LatentDimension must be ≥ 1.");
    }
}

/// <summary>Options of the <see cref="DeepSetPredictionNetwork"/>. Defaults are the paper's (T = 10, η = 800, λ = 0.1).</summary>
[SpecType("decoder.dspn")]
public sealed class DspnOptions : SetDecoderOptions
{
    /// <summary>T, inner gradient steps in training. Default: 10.</summary>
    public int InnerSteps { get; set; } = 10;
    /// <summary>Inner steps at prediction time; 0 = <see cref="InnerSteps"/>. The paper also evaluates 20 and 30. Default: 0.</summary>
    public int PredictionInnerSteps { get; set; }
    /// <summary>η, the inner learning rate. Default: 800.</summary>
    public double InnerLearningRate { get; set; } = 800;
    /// <summary>λ, weight of L_repr(Y, z) in the supervised outer loss. Default: 0.1.</summary>
    public double RepresentationWeight { get; set; } = 0.1;
    /// <summary>Heavy-ball momentum of the inner loop (0 = plain gradient descent, as in the paper). Default: 0.</summary>
    public double Momentum { get; set; }
    /// <summary>‖·‖² or Huber inside L_repr. Default: squared error.</summary>
    public PairwiseCost RepresentationCost { get; set; } = PairwiseCost.SquaredError;
    /// <summary>Hidden widths of g_enc's per-element MLP φ. Default: [256, 256] (the paper's MNIST encoder).</summary>
    public int[] EncoderHiddenSizes { get; set; } = { 256, 256 };
    /// <summary>Pooling of g_enc. Default: presence-weighted sum scaled by 1/N.</summary>
    public RelaxedPooling Pooling { get; set; } = RelaxedPooling.Sum;
    /// <summary>
    /// Average the outer set loss over every state of the inner loop Ŷ⁽⁰⁾…Ŷ⁽ᵀ⁾ (Algorithm 1, line 8) rather than
    /// apply it to the prediction Ŷ⁽ᵀ⁾ only (the reference code with the Hungarian loss). Training only. Default: true.
    /// </summary>
    public bool LossOnEveryStep { get; set; } = true;
    /// <summary>Where the inner loop starts: the paper's learned set, or a set predicted from z by an MLP. Default: learned.</summary>
    public DspnInitialSet InitialSet { get; set; } = DspnInitialSet.Learned;
    /// <summary>
    /// Step the presence in logit space inside the inner loop (p = σ(ℓ), strictly inside (0, 1)) instead of stepping p
    /// and clamping it to [0, 1] as the paper does. The clamp leaves many slots at exactly 1 (or 0), so their
    /// confidences tie when detections are ranked by presence, as average precision does. Default: false (the paper).
    /// </summary>
    public bool LogitPresence { get; set; }
    /// <summary>Hidden widths of the MLP that predicts the initial set (<see cref="DspnInitialSet.FromLatent"/>). Default: [256, 256].</summary>
    public int[] InitialSetHiddenSizes { get; set; } = { 256, 256 };

    /// <inheritdoc />
    public override SetDecoder CreateDecoder(int latentDimension, int elementDimension, int slots)
        => new DeepSetPredictionNetwork(
            new RelaxedDeepSetsOptions { HiddenSizes = EncoderHiddenSizes, EmbeddingDimension = latentDimension, Pooling = Pooling, Slots = slots }.CreateEncoder(elementDimension),
            slots, InnerSteps, InnerLearningRate, RepresentationWeight, Momentum, RepresentationCost, lossOnEveryStep: LossOnEveryStep,
            initialSetKind: InitialSet, initialHiddenSizes: InitialSetHiddenSizes, logitPresence: LogitPresence);

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (InnerSteps < 0) throw new ArgumentOutOfRangeException(nameof(InnerSteps), InnerSteps, "InnerSteps must be ≥ 0.");
        if (PredictionInnerSteps < 0) throw new ArgumentOutOfRangeException(nameof(PredictionInnerSteps), PredictionInnerSteps, "PredictionInnerSteps must be ≥ 0.");
        if (!(InnerLearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(InnerLearningRate), InnerLearningRate, "InnerLearningRate must be > 0.");
        if (RepresentationWeight < 0) throw new ArgumentOutOfRangeException(nameof(RepresentationWeight), RepresentationWeight, "RepresentationWeight must be ≥ 0.");
        if (Momentum < 0 || Momentum >= 1) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "Momentum must be in [0, 1).");
        if (InitialSet == DspnInitialSet.FromLatent && (InitialSetHiddenSizes is null || InitialSetHiddenSizes.Any(h => h < 1)))
            throw new ArgumentException("Every entry of InitialSetHiddenSizes must be ≥ 1 (the MLP that predicts the initial set).", nameof(InitialSetHiddenSizes));
    }
}

/// <summary>Options of the <see cref="TransformerSetDecoder"/> (TSPN/DETR-style set predictor).</summary>
[SpecType("decoder.transformer-set-predictor")]
public sealed class TransformerSetPredictorOptions : SetDecoderOptions
{
    /// <summary>Attention width. Default: 64.</summary>
    public int ModelDimension { get; set; } = 64;
    /// <summary>Attention heads. Default: 4.</summary>
    public int Heads { get; set; } = 4;
    /// <summary>Refinement layers. Default: 3.</summary>
    public int Layers { get; set; } = 3;
    /// <summary>Number of memory tokens z is projected to. Default: 4.</summary>
    public int MemoryTokens { get; set; } = 4;
    /// <summary>Learned slots (DETR) or samples from a learned distribution (TSPN). Default: learned.</summary>
    public InitialSetKind InitialSet { get; set; } = InitialSetKind.Learned;

    /// <inheritdoc />
    public override SetDecoder CreateDecoder(int latentDimension, int elementDimension, int slots)
        => new TransformerSetDecoder(latentDimension, elementDimension, slots, ModelDimension, Heads, Layers, MemoryTokens, InitialSet);

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Heads < 1 || ModelDimension < 1 || ModelDimension % Heads != 0)
            throw new ArgumentOutOfRangeException(nameof(ModelDimension), ModelDimension, "ModelDimension must be a positive multiple of Heads.");
        if (Layers < 0) throw new ArgumentOutOfRangeException(nameof(Layers), Layers, "Layers must be ≥ 0.");
        if (MemoryTokens < 1) throw new ArgumentOutOfRangeException(nameof(MemoryTokens), MemoryTokens, "MemoryTokens must be ≥ 1.");
    }
}

/// <summary>Options of the <see cref="MlpSetDecoder"/> baseline.</summary>
[SpecType("decoder.mlp")]
public sealed class MlpSetDecoderOptions : SetDecoderOptions
{
    /// <summary>Hidden widths. Default: [256, 256] (the DSPN paper's baseline).</summary>
    public int[] HiddenSizes { get; set; } = { 256, 256 };

    /// <inheritdoc />
    public override SetDecoder CreateDecoder(int latentDimension, int elementDimension, int slots)
        => new MlpSetDecoder(latentDimension, elementDimension, slots, HiddenSizes);
}

/// <summary>Chooses the input encoder F for a fixed-size vector input (features or image pixels).</summary>
[PolymorphicSpec]
public abstract class InputEncoderOptions
{
    /// <summary>Builds F: <c>[B, inputSize] → [B, outputDimension]</c>.</summary>
    public abstract nn.Module<Tensor, Tensor> CreateEncoder(int inputSize, int outputDimension);
}

/// <summary>An MLP input encoder for feature vectors.</summary>
[SpecType("input.mlp")]
public sealed class MlpInputEncoderOptions : InputEncoderOptions
{
    /// <summary>Hidden widths. Default: [256].</summary>
    public int[] HiddenSizes { get; set; } = { 256 };

    /// <inheritdoc />
    public override nn.Module<Tensor, Tensor> CreateEncoder(int inputSize, int outputDimension)
        => new Mlp(inputSize, HiddenSizes, outputDimension, Activation.ReLU, activateLast: false);
}

/// <summary>
/// A small CNN input encoder for images read by ML.NET ImageAnalytics (<c>LoadImages → ResizeImages → ExtractPixels</c>
/// with the default planar colour order): the pixel vector must have Channels·Height·Width values.
/// </summary>
[SpecType("input.conv")]
public sealed class ConvInputEncoderOptions : InputEncoderOptions
{
    /// <summary>Colour channels. Default: 3.</summary>
    public int Channels { get; set; } = 3;
    /// <summary>Image height. Default: 64.</summary>
    public int Height { get; set; } = 64;
    /// <summary>Image width. Default: 64.</summary>
    public int Width { get; set; } = 64;
    /// <summary>Output channels of each 3×3 stride-2 convolution, one entry per convolution (any depth ≥ 1). Default: [32, 64, 64].</summary>
    public int[] ConvChannels { get; set; } = { 32, 64, 64 };
    /// <summary>Add CoordConv x/y channels to the input (helps regress positions). Default: true.</summary>
    public bool CoordinateChannels { get; set; } = true;

    /// <inheritdoc />
    public override nn.Module<Tensor, Tensor> CreateEncoder(int inputSize, int outputDimension)
    {
        if (inputSize != Channels * Height * Width)
            throw new ArgumentException($"The image vector has {inputSize} values, but Channels·Height·Width = {Channels}·{Height}·{Width} = {Channels * Height * Width}.", nameof(inputSize));
        return new SmallConvNet(Channels, Height, Width, ConvChannels, outputDimension, CoordinateChannels);
    }
}

/// <summary>
/// The image encoder for set prediction from images (<see cref="ImageEncoder"/>): a deeper CNN than
/// <see cref="ConvInputEncoderOptions"/> that keeps spatial information — GroupNorm after every convolution, CoordConv
/// x/y channels on the image, a larger final feature map (8×8 for a 64×64 image) and a head that keeps each
/// position (flattened map) instead of global average pooling. Reads ML.NET ImageAnalytics' <c>ExtractPixels</c>
/// vector (planar colour order), which must have Channels·Height·Width values. Usable with every set-prediction
/// trainer through <see cref="Training.SetPredictionOptions.InputEncoder"/>.
/// </summary>
/// <remarks>
/// Defaults: 64×64 RGB, no stem, stages [32, 64, 128] of one stride-2 convolution each (an 8×8×128 final map for a
/// 64×64 image; on 128×128 images add a stage to keep 8×8), GroupNorm, coordinate channels, and a Flatten head with one
/// hidden layer of 256. Stride-1 convolutions (<see cref="StemChannels"/> &gt; 0 or <see cref="ConvolutionsPerStage"/>
/// &gt; 1) are available but off by default: with TorchSharp 0.107's CPU libtorch they made small models' training
/// diverge intermittently with a fixed seed (non-finite gradients; 2 of 6 runs of a test vs 0 of 8 with stride 2 only,
/// docs/set-prediction.md).
/// </remarks>
[SpecType("input.image")]
public sealed class ImageEncoderOptions : InputEncoderOptions
{
    /// <summary>Colour channels. Default: 3.</summary>
    public int Channels { get; set; } = 3;
    /// <summary>Image height. Default: 64.</summary>
    public int Height { get; set; } = 64;
    /// <summary>Image width. Default: 64.</summary>
    public int Width { get; set; } = 64;
    /// <summary>Channels of a stride-1 stem convolution at full resolution; 0 = no stem. Default: 0 (see remarks).</summary>
    public int StemChannels { get; set; }
    /// <summary>Channels of each stage; each stage halves the resolution (64 → 8 with three). Default: [32, 64, 128].</summary>
    public int[] StageChannels { get; set; } = { 32, 64, 128 };
    /// <summary>3×3 convolutions per stage: the first has stride 2, the others stride 1. Default: 1 (see remarks).</summary>
    public int ConvolutionsPerStage { get; set; } = 1;
    /// <summary>Normalization after each convolution. Default: GroupNorm (batch-independent, deterministic).</summary>
    public ImageNormalization Normalization { get; set; } = ImageNormalization.GroupNorm;
    /// <summary>Append CoordConv x/y channels (each pixel's position in [−1, 1]) to the image. Default: true.</summary>
    public bool CoordinateChannels { get; set; } = true;
    /// <summary>How the last feature map becomes z. Default: <see cref="ImageEncoderHead.Flatten"/> (keeps every position).</summary>
    public ImageEncoderHead Head { get; set; } = ImageEncoderHead.Flatten;
    /// <summary>Hidden widths of the head's MLP (empty = one linear layer). Default: [256].</summary>
    public int[] HeadHiddenSizes { get; set; } = { 256 };

    /// <inheritdoc />
    public override nn.Module<Tensor, Tensor> CreateEncoder(int inputSize, int outputDimension)
    {
        if (inputSize != Channels * Height * Width)
            throw new ArgumentException($"The image vector has {inputSize} values, but ImageEncoderOptions Channels·Height·Width = {Channels}·{Height}·{Width} = {Channels * Height * Width} " +
                                        "(set them to the ResizeImages size and the ExtractPixels colours).", nameof(inputSize));
        return new ImageEncoder(Channels, Height, Width, StemChannels, StageChannels ?? Array.Empty<int>(), ConvolutionsPerStage, Normalization,
            CoordinateChannels, Head, HeadHiddenSizes ?? Array.Empty<int>(), outputDimension);
    }
}

/// <summary>
/// A vector → set (or set → set auto-encoder) model: input encoder F + set decoder. Outputs the predicted set
/// (elements with presence ≥ 0.5, padding removed), its size, and the presence of each kept element (its confidence).
/// </summary>
[SpecType("model.set-prediction")]
public sealed class SetPredictionModelSpec : ModelSpec, INetworkSpec<SetPredictionNetwork>
{
    /// <summary>The decoder.</summary>
    public SetDecoderOptions Decoder { get; set; } = new DspnOptions();
    /// <summary>F for a vector input.</summary>
    public InputEncoderOptions? InputEncoder { get; set; }
    /// <summary>The set encoder for a set input; null with a DSPN decoder = share its g_enc (the paper's auto-encoder).</summary>
    public SetEncoderOptions? SetEncoder { get; set; }
    /// <summary>Element dimension d of the predicted sets. Required: there is no default d.</summary>
    public required int ElementDimension { get; set; }
    /// <summary>N, the largest set the model predicts.</summary>
    public int MaximumSetSize { get; set; }
    /// <summary>Size of z.</summary>
    public int LatentDimension { get; set; }
    /// <summary>Predicted set column.</summary>
    public string PredictedSetColumnName { get; set; } = "PredictedSet";
    /// <summary>Predicted set size column.</summary>
    public string PredictedSetSizeColumnName { get; set; } = "PredictedSetSize";
    /// <summary>Presence (confidence) of each element of the predicted set.</summary>
    public string PredictedSetScoreColumnName { get; set; } = "PredictedSetScore";
    /// <summary>
    /// Slots whose presence is at least this value are output (the set). Default: 0.5. Set it to 0 on a trained model to
    /// output all N slots with their presence as the score, which is what object-detection average precision ranks (the
    /// DSPN paper's evaluation exports every slot with its mask as confidence).
    /// </summary>
    public double PresenceThreshold { get; set; } = 0.5;
    /// <summary>
    /// The standardization of the label sets the network was trained on (<see cref="Training.SetPredictionOptions.NormalizeLabelSets"/>):
    /// the network predicts standardized elements and the output maps them back (element · scale + mean). Null = the
    /// network predicts the label's units (models saved before this option existed).
    /// </summary>
    public SetColumns.SetElementNormalization? LabelNormalization { get; set; }

    /// <inheritdoc />
    public override nn.Module CreateNetwork() => CreateSetPredictionNetwork();

    SetPredictionNetwork INetworkSpec<SetPredictionNetwork>.CreateTypedNetwork() => CreateSetPredictionNetwork();

    private SetPredictionNetwork CreateSetPredictionNetwork()
    {
        var decoder = Decoder.CreateDecoder(LatentDimension, ElementDimension, MaximumSetSize);
        var input = Inputs[0];
        if (input.Kind == ModelInputKind.Vector)
            return new SetPredictionNetwork((InputEncoder ?? new MlpInputEncoderOptions()).CreateEncoder(input.VectorSize, LatentDimension), decoder);
        return new SetPredictionNetwork(SetEncoder?.CreateEncoder(input.ElementDimension), decoder);
    }

    /// <inheritdoc />
    public override double EstimateForwardBytes(int batch, IReadOnlyList<long> setSizes)
    {
        // Input: the set encoder (DSPN without SetEncoder encodes with its own g_enc, a relaxed Deep Sets of about this size).
        var input = Inputs[0];
        double inputBytes = input.Kind == ModelInputKind.Vector
            ? (double)batch * input.VectorSize * 3 * ForwardMemory.FloatBytes
            : (SetEncoder ?? new RelaxedDeepSetsOptions { EmbeddingDimension = LatentDimension }).EstimateForwardBytes(input.ElementDimension, batch, setSizes[0]);
        // Decoder: N = MaximumSetSize slots; DSPN keeps the graph of every inner step (each a relaxed encoder pass on N slots).
        int steps = Decoder is DspnOptions d ? Math.Max(d.InnerSteps, d.PredictionInnerSteps) + 1 : 1;
        double decoderBytes = steps * 3.0 * new RelaxedDeepSetsOptions { EmbeddingDimension = LatentDimension }.EstimateForwardBytes(ElementDimension, batch, MaximumSetSize);
        // The set loss (and the matching at prediction) compares the N slots with up to N elements: [B, N, N] costs.
        double pairwise = batch * (double)MaximumSetSize * MaximumSetSize * 4 * ForwardMemory.FloatBytes;
        return inputBytes + decoderBytes + pairwise;
    }

    /// <inheritdoc />
    public override string DescribeMemory() => Inputs[0].Kind == ModelInputKind.Set
        ? $"set predictor with a {(SetEncoder?.GetType().Name.Replace("Options", "") ?? "relaxed Deep Sets")} input encoder, {(SetEncoder?.MemoryGrowth ?? "linear in the set size")}"
        : $"set predictor with N = {MaximumSetSize} slots, quadratic in N";

    /// <summary>DSPN predicts by gradient descent on the set: its prediction runs with autograd available.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public override bool PredictsWithGradients => Decoder is DspnOptions;

    /// <summary>Inner steps used at prediction (DSPN), or null for the decoder's default.</summary>
    public int? PredictionSteps => Decoder is DspnOptions { PredictionInnerSteps: > 0 } o ? o.PredictionInnerSteps : null;

    /// <inheritdoc />
    public override ModelOutputs CreateOutputs() => ModelOutputs.Create<SetPredictionNetwork, (float[][] Sets, float[][] Scores)>(
        (net, batch) => Denormalize(ToRows(net.Decoder.Decode(net.Encode(batch.X[0], batch.Mask[0]), training: false, PredictionSteps)[^1], ElementDimension, PresenceThreshold)),
        OutputColumn.Set<(float[][] Sets, float[][] Scores)>(PredictedSetColumnName, ElementDimension, o => o.Sets),
        OutputColumn.Single<(float[][] Sets, float[][] Scores)>(PredictedSetSizeColumnName, o => o.Sets.Select(r => (float)(r.Length / ElementDimension)).ToArray()),
        OutputColumn.VariableVector<(float[][] Sets, float[][] Scores)>(PredictedSetScoreColumnName, o => o.Scores));

    // Predicted elements back to the label's units (in place) when the network was trained on standardized label sets.
    private (float[][] Sets, float[][] Scores) Denormalize((float[][] Sets, float[][] Scores) rows)
    {
        if (LabelNormalization is not { } n) return rows;
        foreach (var set in rows.Sets) n.InvertInPlace(set);
        return rows;
    }

    /// <summary>The kept elements (presence ≥ 0.5) of each row as flat n·d arrays, and their presences.</summary>
    public static (float[][] Sets, float[][] Scores) ToRows(PredictedSetState state, int d) => ToRows(state, d, 0.5);

    /// <summary>The kept elements (presence ≥ <paramref name="presenceThreshold"/>) of each row as flat n·d arrays, and their presences.</summary>
    public static (float[][] Sets, float[][] Scores) ToRows(PredictedSetState state, int d, double presenceThreshold)
    {
        var y = state.Elements.detach().to_type(ScalarType.Float32).CopyToArray<float>();
        var p = state.Presence.detach().to_type(ScalarType.Float32).CopyToArray<float>();
        int b = (int)state.Elements.size(0), n = (int)state.Elements.size(1);
        var sets = new float[b][];
        var scores = new float[b][];
        for (int r = 0; r < b; r++)
        {
            var kept = Enumerable.Range(0, n).Where(i => p[r * n + i] >= presenceThreshold).ToArray();
            sets[r] = new float[kept.Length * d];
            scores[r] = new float[kept.Length];
            for (int k = 0; k < kept.Length; k++)
            {
                Array.Copy(y, ((long)r * n + kept[k]) * d, sets[r], (long)k * d, d);
                scores[r][k] = p[r * n + kept[k]];
            }
        }
        return (sets, scores);
    }
}
