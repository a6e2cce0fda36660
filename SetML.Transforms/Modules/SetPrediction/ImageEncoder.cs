using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules.SetPrediction;

/// <summary>How an <see cref="ImageEncoder"/> turns its last feature map <c>[B, K, h, w]</c> into the vector z.</summary>
public enum ImageEncoderHead
{
    /// <summary>
    /// Flatten the whole map (K·h·w values, every position kept) and map it to z with a linear layer (or an MLP): the
    /// layer sees where each feature is, which box regression needs.
    /// </summary>
    Flatten,
    /// <summary>
    /// Spatial softmax (Levine et al. 2016, "keypoints"): each of the K channels becomes a distribution over the h·w
    /// positions and contributes its expected (x, y) in [−1, 1] and the mean of its activation; 3K values, then linear.
    /// Translation-equivariant and sub-pixel, but one position per channel (weak for many objects).
    /// </summary>
    SpatialSoftmax,
    /// <summary>Global average pooling (the classification head): position is lost except through the coordinate channels.</summary>
    GlobalAveragePool,
}

/// <summary>Normalization after each convolution of an <see cref="ImageEncoder"/>.</summary>
public enum ImageNormalization
{
    /// <summary>None (plain convolution + ReLU).</summary>
    None,
    /// <summary>
    /// GroupNorm (Wu &amp; He 2018) with up to 8 groups: independent of the batch, so training and prediction compute the
    /// same function for any batch size (BatchNorm would not), and deterministic on CPU.
    /// </summary>
    GroupNorm,
}

/// <summary>
/// An image input encoder F that keeps spatial information, for set prediction from images (DSPN §5.2's role of the
/// ResNet): pixels <c>[B, C·H·W]</c> in ML.NET's <c>ExtractPixels</c> layout (planar channels) → z <c>[B, output]</c>.
/// A stride-1 stem convolution, then stages that each halve the resolution (a 3×3 stride-2 convolution followed by
/// stride-1 3×3 convolutions), each convolution followed by GroupNorm and ReLU, with CoordConv x/y channels
/// (Liu et al. 2018) appended to the image; then a head that keeps the positions (<see cref="ImageEncoderHead.Flatten"/>
/// by default).
/// </summary>
/// <remarks>
/// Two libtorch (TorchSharp 0.107, CPU) problems shaped this module, both measured in this repository: convolutions with
/// their own zero padding returned NaN input gradients on images with exact-zero regions, so the padding is applied
/// explicitly; and coordinate channels appended before every convolution (34, 66, 130 input channels) made some
/// convolutions return non-finite outputs from finite inputs, so they are appended to the image only.
/// </remarks>
public sealed class ImageEncoder : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Conv2d> convs = new();
    private readonly ModuleList<GroupNormalization> norms = new();
    private readonly Mlp head;
    private readonly int channels, height, width, mapHeight, mapWidth, mapChannels;
    private readonly bool coordinates;
    private readonly ImageEncoderHead headKind;

    /// <summary>Creates the encoder.</summary>
    /// <param name="channels">Colour channels C of the input.</param>
    /// <param name="height">Image height H.</param>
    /// <param name="width">Image width W.</param>
    /// <param name="stemChannels">Channels of the stride-1 stem convolution at full resolution (0 = no stem).</param>
    /// <param name="stageChannels">Channels of each stage; every stage halves the resolution.</param>
    /// <param name="convolutionsPerStage">Convolutions per stage (≥ 1: the stride-2 one, then stride-1 ones).</param>
    /// <param name="normalization">Normalization after each convolution.</param>
    /// <param name="coordinateChannels">Append x/y coordinate channels in [−1, 1] to the image.</param>
    /// <param name="head">How the last feature map becomes z.</param>
    /// <param name="headHiddenSizes">Hidden widths of the head's MLP (empty = one linear layer).</param>
    /// <param name="outputDimension">Size of z.</param>
    public ImageEncoder(int channels, int height, int width, int stemChannels, IReadOnlyList<int> stageChannels, int convolutionsPerStage,
        ImageNormalization normalization, bool coordinateChannels, ImageEncoderHead head, IReadOnlyList<int> headHiddenSizes, int outputDimension)
        : base(nameof(ImageEncoder))
    {
        ArgumentNullException.ThrowIfNull(stageChannels);
        ArgumentNullException.ThrowIfNull(headHiddenSizes);
        if (channels < 1 || height < 1 || width < 1)
            throw new ArgumentException($"The image shape {channels}×{height}×{width} (Channels×Height×Width) must be positive.", nameof(channels));
        if (stemChannels < 0) throw new ArgumentOutOfRangeException(nameof(stemChannels), stemChannels, "StemChannels must be ≥ 0 (0 = no stem).");
        if (stemChannels == 0 && stageChannels.Count == 0)
            throw new ArgumentException("The image encoder needs at least one convolution: a stem (StemChannels ≥ 1) or a stage.", nameof(stageChannels));
        if (stageChannels.Any(c => c < 1)) throw new ArgumentException("Every entry of StageChannels must be ≥ 1.", nameof(stageChannels));
        if (convolutionsPerStage < 1) throw new ArgumentOutOfRangeException(nameof(convolutionsPerStage), convolutionsPerStage, "ConvolutionsPerStage must be ≥ 1.");
        if (headHiddenSizes.Any(c => c < 1)) throw new ArgumentException("Every entry of HeadHiddenSizes must be ≥ 1.", nameof(headHiddenSizes));
        if (outputDimension < 1) throw new ArgumentOutOfRangeException(nameof(outputDimension), outputDimension, "The output dimension must be ≥ 1.");
        this.channels = channels; this.height = height; this.width = width;
        coordinates = coordinateChannels;
        headKind = head;
        int extra = coordinateChannels ? 2 : 0, h = height, w = width, c = channels;
        void Add(int output, int stride)
        {
            convs.Add(nn.Conv2d(c + (convs.Count == 0 ? extra : 0), output, 3, stride: stride, padding: 0L, bias: normalization == ImageNormalization.None));
            if (normalization == ImageNormalization.GroupNorm) norms.Add(new GroupNormalization(Groups(output), output));
            c = output;
        }
        if (stemChannels > 0) Add(stemChannels, 1);
        foreach (int s in stageChannels)
        {
            Add(s, 2);
            h = (h + 1) / 2; w = (w + 1) / 2;
            for (int k = 1; k < convolutionsPerStage; k++) Add(s, 1);
        }
        mapChannels = c; mapHeight = h; mapWidth = w;
        long headInput = head switch
        {
            ImageEncoderHead.Flatten => (long)c * h * w,
            ImageEncoderHead.SpatialSoftmax => 3L * c,
            _ => c,
        };
        if (headInput > int.MaxValue) throw new ArgumentException($"The flattened feature map has {headInput} values, too many for the head.", nameof(stageChannels));
        this.head = new Mlp((int)headInput, headHiddenSizes, outputDimension, Activation.ReLU, activateLast: false);
        OutputDimension = outputDimension;
        RegisterComponents();
    }

    /// <summary>Size of z.</summary>
    public int OutputDimension { get; }

    /// <summary>Shape of the last feature map (channels, height, width).</summary>
    public (int Channels, int Height, int Width) FeatureMapShape => (mapChannels, mapHeight, mapWidth);

    /// <summary>Groups of GroupNorm for <paramref name="channels"/> channels: the largest divisor ≤ 8.</summary>
    public static int Groups(int channels)
    {
        for (int g = Math.Min(8, channels); g > 1; g--)
            if (channels % g == 0) return g;
        return 1;
    }

    /// <summary>Encodes pixels <c>[B, C·H·W]</c> (planar channels) → <c>[B, output]</c>.</summary>
    public override Tensor forward(Tensor pixels)
    {
        if (pixels.dim() != 2 || pixels.shape[1] != (long)channels * height * width)
            throw new ArgumentException($"The image encoder reads [batch, {channels}·{height}·{width} = {channels * height * width}] pixels, got [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        using var scope = torch.NewDisposeScope();
        long b = pixels.shape[0];
        var x = pixels.view(b, channels, height, width);
        for (int i = 0; i < convs.Count; i++)
        {
            if (coordinates && i == 0) x = torch.cat(new[] { x, Coordinates(b, x.shape[2], x.shape[3], x.dtype, x.device) }, 1);
            // Zero padding applied explicitly (see remarks).
            x = convs[i].forward(nn.functional.pad(x, new long[] { 1, 1, 1, 1 }));
            if (norms.Count > 0) x = norms[i].forward(x);
            x = nn.functional.relu(x);
        }
        var features = headKind switch
        {
            ImageEncoderHead.Flatten => x.flatten(1),
            ImageEncoderHead.SpatialSoftmax => SpatialSoftmax(x),
            _ => x.mean(new long[] { 2, 3 }),
        };
        return head.forward(features).MoveToOuterDisposeScope();
    }

    // Two channels [B, 2, h, w]: x then y, each in [−1, 1] across the map.
    private static Tensor Coordinates(long b, long h, long w, ScalarType dtype, Device device)
    {
        var ys = torch.linspace(-1, 1, h, dtype: dtype, device: device).view(1, 1, h, 1).expand(b, 1, h, w);
        var xs = torch.linspace(-1, 1, w, dtype: dtype, device: device).view(1, 1, 1, w).expand(b, 1, h, w);
        return torch.cat(new[] { xs, ys }, 1);
    }

    // [B, K, h, w] → [B, 3K]: per channel the softmax-expected x and y, and the mean activation.
    private static Tensor SpatialSoftmax(Tensor x)
    {
        long b = x.shape[0], k = x.shape[1], h = x.shape[2], w = x.shape[3];
        var flat = x.view(b, k, h * w);
        var attention = flat.softmax(-1);
        var grid = Coordinates(1, h, w, x.dtype, x.device).view(2, h * w);             // [2, h·w]
        var expected = attention.matmul(grid.t());                                   // [B, K, 2]
        return torch.cat(new[] { expected.flatten(1), flat.mean(new long[] { -1 }) }, 1);
    }
}

/// <summary>
/// GroupNorm (Wu &amp; He 2018) of <c>[B, C, H, W]</c> written with plain tensor operations: per image, the C channels
/// are split into groups, each normalized to mean 0 and variance 1 over its channels and positions, then scaled and
/// shifted per channel (γ = 1, β = 0 initially).
/// </summary>
/// <remarks>
/// Not TorchSharp 0.107's <c>nn.GroupNorm</c>: it leaves γ and β uninitialized (garbage such as ±1e38) and its CPU
/// backward returned non-finite gradients on constant groups (a ReLU map that is all zero), measured in this repository.
/// </remarks>
public sealed class GroupNormalization : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight, bias;
    private readonly int groups;

    /// <summary>Creates the normalization of <paramref name="channels"/> channels in <paramref name="groups"/> groups.</summary>
    public GroupNormalization(int groups, int channels) : base(nameof(GroupNormalization))
    {
        if (groups < 1 || channels < 1 || channels % groups != 0)
            throw new ArgumentException($"GroupNorm needs channels ({channels}) divisible by groups ({groups}), both ≥ 1.", nameof(groups));
        this.groups = groups;
        weight = nn.Parameter(torch.ones(channels));
        bias = nn.Parameter(torch.zeros(channels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], c = x.shape[1];
        var g = x.reshape(b, groups, -1);
        var mean = g.mean(new long[] { -1 }, keepdim: true);
        var centered = g - mean;
        var variance = centered.Squared().mean(new long[] { -1 }, keepdim: true);
        var normalized = (centered * variance.AddScalar(1e-5).rsqrt()).reshape(x.shape);
        return (normalized * weight.view(1, c, 1, 1)).Plus(bias.view(1, c, 1, 1)).MoveToOuterDisposeScope();
    }
}
