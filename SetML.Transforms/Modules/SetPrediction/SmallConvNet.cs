using SetML.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules.SetPrediction;

/// <summary>
/// A small CNN input encoder F for images given as flat pixel vectors (ML.NET's <c>ExtractPixels</c> output, planar
/// channel order): 3×3 convolutions with stride 2 and ReLU (three by default), then a linear layer on the flattened feature map
/// (kept spatial, since box positions matter). Stands in for the ResNet34 of DSPN §5.2.
/// </summary>
/// <remarks>
/// Optional CoordConv input (Liu et al. 2018): two extra channels holding each pixel's x and y in [−1, 1], which makes
/// regressing positions (boxes) much easier for a small network trained on little data.
/// </remarks>
public sealed class SmallConvNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d[] convs;
    private readonly Linear output;
    private readonly int channels, height, width;
    private readonly bool coordinates;

    /// <summary>Creates the encoder for <paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/> images.</summary>
    public SmallConvNet(int channels, int height, int width, int[] convChannels, int outputDimension, bool coordinateChannels = false) : base(nameof(SmallConvNet))
    {
        ArgumentNullException.ThrowIfNull(convChannels);
        if (convChannels.Length == 0 || convChannels.Any(c => c < 1))
            throw new ArgumentException("SmallConvNet needs at least one convolution, each with ≥ 1 output channel.", nameof(convChannels));
        if (channels < 1 || height < 1 || width < 1)
            throw new ArgumentException($"Image shape {channels}×{height}×{width} must be positive.", nameof(channels));
        this.channels = channels; this.height = height; this.width = width;
        coordinates = coordinateChannels;
        convs = new Conv2d[convChannels.Length];
        int h = height, w = width;
        for (int i = 0; i < convs.Length; i++)
        {
            int input = i == 0 ? channels + (coordinateChannels ? 2 : 0) : convChannels[i - 1];
            convs[i] = nn.Conv2d(input, convChannels[i], 3, stride: 2, padding: 1);
            register_module($"conv{i + 1}", convs[i]);    // conv1, conv2, … : stable weight names in saved models
            h = (h + 1) / 2; w = (w + 1) / 2;
        }
        output = nn.Linear((long)convChannels[^1] * h * w, outputDimension);
        OutputDimension = outputDimension;
        RegisterComponents();
    }

    /// <summary>Size of the encoding.</summary>
    public int OutputDimension { get; }

    /// <summary>Encodes pixels <c>[B, C·H·W]</c> → <c>[B, output]</c>.</summary>
    public override Tensor forward(Tensor pixels)
    {
        using var scope = torch.NewDisposeScope();
        long b = pixels.shape[0];
        var x = pixels.view(b, channels, height, width);
        if (coordinates)
        {
            var ys = torch.linspace(-1, 1, height, dtype: x.dtype, device: x.device).view(1, 1, height, 1).expand(b, 1, height, width);
            var xs = torch.linspace(-1, 1, width, dtype: x.dtype, device: x.device).view(1, 1, 1, width).expand(b, 1, height, width);
            x = torch.cat(new[] { x, xs, ys }, 1);
        }
        foreach (var conv in convs) x = nn.functional.relu(conv.forward(x));
        return output.forward(x.flatten(1)).MoveToOuterDisposeScope();
    }
}
