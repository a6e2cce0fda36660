using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>Activation used between the layers of an <see cref="Mlp"/>.</summary>
public enum Activation
{
    /// <summary>max(0, x).</summary>
    ReLU,
    /// <summary>Gaussian error linear unit.</summary>
    GELU,
    /// <summary>tanh(x).</summary>
    Tanh,
}

/// <summary>The one mapping of <see cref="Activation"/> to TorchSharp's functions, for every module that takes one.</summary>
internal static class ActivationFunctions
{
    /// <summary><paramref name="activation"/>(x), a new tensor.</summary>
    public static Tensor Apply(this Activation activation, Tensor x) => activation switch
    {
        Activation.ReLU => nn.functional.relu(x),
        Activation.GELU => nn.functional.gelu(x),
        Activation.Tanh => x.tanh(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    /// <summary>
    /// The activation written over <paramref name="x"/> (which it returns, with no new tensor): for outputs nothing else
    /// reads, where autograd is off (prediction, validation), so that each layer creates one tensor instead of two.
    /// </summary>
    public static Tensor ApplyInPlace(this Activation activation, Tensor x) => activation switch
    {
        Activation.ReLU => x.relu_(),
        Activation.GELU => x.gelu_(),
        Activation.Tanh => x.tanh_(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };
}

/// <summary>
/// An MLP split after its first linear layer, for inputs that are concatenations <c>x_1 ⊕ … ⊕ x_k</c> (the pairs of a
/// relation network, the tuples of Janossy pooling): the caller applies the first layer per position,
/// <c>W[x_i ⊕ x_j] + b = W₁x_i + W₂x_j + b</c>, so the concatenated grid is never built, then its activation and the rest.
/// </summary>
internal static class SplitMlp
{
    /// <summary>Width of the first layer: the first hidden width, or the output width without hidden layers.</summary>
    public static int FirstWidth(IReadOnlyList<int> hidden, int outputDimension) => hidden.Count > 0 ? hidden[0] : outputDimension;

    /// <summary>
    /// The MLP <c>in → hidden[0] → … → out</c> (activated last) as its first layer and the rest, created in that order;
    /// the rest is null without hidden layers (the first layer is then the whole MLP).
    /// </summary>
    public static (Linear First, Mlp? Tail) Create(int inputDimension, IReadOnlyList<int> hidden, int outputDimension, Activation activation)
    {
        var first = nn.Linear(inputDimension, FirstWidth(hidden, outputDimension));
        var rest = hidden.Count > 0 ? new Mlp(hidden[0], hidden.Skip(1).ToArray(), outputDimension, activation, activateLast: true) : null;
        return (first, rest);
    }
}

/// <summary>
/// A multi-layer perceptron applied to the last axis. Applied to <c>[B, N, d]</c> it is the row-wise feed-forward
/// layer <b>rFF</b> of the Set Transformer paper (the same MLP on every element, so it is permutation-equivariant).
/// </summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Linear> layers = new();
    private readonly Activation activation;
    private readonly bool activateLast;
    private readonly double dropout;

    /// <summary>
    /// Creates the MLP <c>in → hidden[0] → … → out</c>.
    /// </summary>
    /// <param name="inputDimension">Input features.</param>
    /// <param name="hidden">Hidden layer widths (may be empty: a single linear layer).</param>
    /// <param name="outputDimension">Output features.</param>
    /// <param name="activation">Activation between layers.</param>
    /// <param name="activateLast">Whether to apply the activation after the last layer too.</param>
    /// <param name="dropout">Dropout probability after each hidden activation (training only).</param>
    public Mlp(int inputDimension, IReadOnlyList<int> hidden, int outputDimension,
               Activation activation = Activation.ReLU, bool activateLast = false, double dropout = 0) : base(nameof(Mlp))
    {
        int prev = inputDimension;
        foreach (var h in hidden) { layers.Add(nn.Linear(prev, h)); prev = h; }
        layers.Add(nn.Linear(prev, outputDimension));
        this.activation = activation;
        this.activateLast = activateLast;
        this.dropout = dropout;
        InputDimension = inputDimension;
        OutputDimension = outputDimension;
        RegisterComponents();
    }

    /// <summary>Input features.</summary>
    public int InputDimension { get; }

    /// <summary>Output features.</summary>
    public int OutputDimension { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        // Without autograd the activations overwrite the layer outputs (this method owns them): half the tensors, each of
        // which costs TorchSharp a finalizable object and shared counters (docs/performance.md, "prediction").
        bool inPlace = !torch.is_grad_enabled();
        for (int i = 0; i < layers.Count; i++)
        {
            var next = layers[i].forward(x);
            if (i > 0) x.Dispose();
            x = next;
            bool last = i == layers.Count - 1;
            if (!last || activateLast)
            {
                if (inPlace) activation.ApplyInPlace(x);
                else
                {
                    var a = Activate(x);
                    x.Dispose();
                    x = a;
                }
                if (!last && dropout > 0 && training)
                {
                    var dr = nn.functional.dropout(x, dropout, training);
                    x.Dispose();
                    x = dr;
                }
            }
        }
        return x;
    }

    private Tensor Activate(Tensor x) => activation.Apply(x);

    /// <summary>Readable description, e.g. <c>Mlp(3→64→64→32, ReLU)</c>.</summary>
    public override string ToString()
        => $"Mlp({InputDimension}→{string.Join("→", layers.Select(l => l.out_features))}, {activation})";
}
