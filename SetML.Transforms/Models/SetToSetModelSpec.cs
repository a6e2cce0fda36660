using SetML.Modules;
using SetML.SetColumns;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Models;

/// <summary>What a set → set (per-element) model predicts.</summary>
public enum SetToSetTask
{
    /// <summary>A real vector per element (Score: a set column of the same size). Trained with the squared error over real elements.</summary>
    Regression,
    /// <summary>One of K classes per element (Score: K probabilities per element; PredictedLabel: the 0-based class per element). Cross-entropy.</summary>
    Classification,
}

/// <summary>
/// A permutation-equivariant set → set model (<see cref="SetToSetNetwork"/>: SAB/ISAB stack + per-element linear
/// output). Its Score column is a set column with one output vector per input element, in the input's order,
/// annotated with its element dimension.
/// </summary>
[SpecType("model.set-to-set")]
public sealed class SetToSetModelSpec : ModelSpec, INetworkSpec<SetToSetNetwork>
{
    /// <summary>The attention stack (only the SAB/ISAB part of these options is used: no PMA).</summary>
    public SetTransformerOptions Encoder { get; set; } = new();
    /// <summary>The per-element task.</summary>
    public SetToSetTask Task { get; set; }
    /// <summary>Outputs per element: the label's element dimension (regression) or the number of classes.</summary>
    public int OutputSize { get; set; } = 1;
    /// <summary>Score column: a set column with <see cref="OutputSize"/> values per element.</summary>
    public string ScoreColumnName { get; set; } = "Score";
    /// <summary>Predicted label column (classification): one 0-based class index per element (variable-length vector).</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>
    /// Regression: per-feature standardization of the label elements learned in <c>Fit</c> (the network learns the
    /// standardized targets, its outputs are mapped back). Null = none (older model files).
    /// </summary>
    public SetColumns.SetElementNormalization? LabelNormalization { get; set; }

    /// <summary>Element dimension of the set input.</summary>
    public int ElementDimension => Inputs[0].ElementDimension;

    /// <inheritdoc />
    public override nn.Module CreateNetwork() => CreateSetToSetNetwork();

    SetToSetNetwork INetworkSpec<SetToSetNetwork>.CreateTypedNetwork() => CreateSetToSetNetwork();

    private SetToSetNetwork CreateSetToSetNetwork() => new SetToSetNetwork(Encoder.CreateStack(ElementDimension), OutputSize);

    /// <summary>What <see cref="Task"/> does: its outputs, label rules and loss.</summary>
    internal PerElementTask TaskRules => PerElementTask.For(Task);

    /// <inheritdoc />
    public override ModelOutputs CreateOutputs() => TaskRules.Outputs(this);

    /// <inheritdoc />
    public override double EstimateForwardBytes(int batch, IReadOnlyList<long> setSizes)
        => ForwardMemory.SetInput(batch, setSizes[0], ElementDimension) + Encoder.StackBytes(batch, setSizes[0])
           + (double)batch * setSizes[0] * OutputSize * 4 * ForwardMemory.FloatBytes;

    /// <inheritdoc />
    public override string DescribeMemory() => $"set → set attention stack, {Encoder.MemoryGrowth}";

    /// <summary>The training loss of network outputs <c>[B, N, K]</c> against per-element targets, over real elements only.</summary>
    /// <param name="output">Network output.</param>
    /// <param name="target">Regression: <c>[B, N, K]</c> targets; classification: <c>[B, N]</c> int64 classes.</param>
    /// <param name="mask">Real elements <c>[B, N]</c>.</param>
    public Tensor Loss(Tensor output, Tensor target, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var real = mask.sum(type: ScalarType.Float32).ClampMinScalar(1.0);
        return TaskRules.Loss(output, target, mask, real, OutputSize).MoveToOuterDisposeScope();
    }

    /// <summary>Row i of <c>t [B, N, K]</c> restricted to its first <c>counts[i]</c> elements, flattened (n·K values).</summary>
    public static float[][] PerElementRows(Tensor t, long[] counts)
    {
        long n = t.size(1), k = t.size(2);
        var flat = t.CopyToArray<float>();
        var rows = new float[counts.Length][];
        for (int i = 0; i < counts.Length; i++)
        {
            rows[i] = new float[counts[i] * k];
            Array.Copy(flat, i * n * k, rows[i], 0, rows[i].Length);
        }
        return rows;
    }
}

/// <summary>
/// The behaviour of one <see cref="SetToSetTask"/>, in one place: the label's shape and rules, the training target and
/// loss, and the output columns. The spec stores only the enum (the saved format); <see cref="For"/> is the one mapping.
/// </summary>
internal abstract class PerElementTask
{
    private static readonly PerElementTask RegressionTask = new Regression(), ClassificationTask = new Classification();

    /// <summary>The behaviour of <paramref name="task"/>.</summary>
    public static PerElementTask For(SetToSetTask task) => task switch
    {
        SetToSetTask.Regression => RegressionTask,
        SetToSetTask.Classification => ClassificationTask,
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown set → set task."),
    };

    /// <summary>Values per label element: the output size (regression) or 1 (a class index).</summary>
    public abstract int LabelDimension(int outputSize);

    /// <summary>Whether the label elements are real vectors that may be standardized (<see cref="Training.SetModelOptions.NormalizeRegressionLabel"/>).</summary>
    public virtual bool HasRealLabel => false;

    /// <summary>Throws when a value of row <paramref name="row"/>'s label set breaks the task's rule.</summary>
    public virtual void CheckLabel(string labelColumn, int row, float[] label, int outputSize) { }

    /// <summary>The training target from the padded label batch <c>[B, N, LabelDimension]</c>.</summary>
    public abstract Tensor Target(Tensor labels);

    /// <summary>The loss over the real elements (<paramref name="real"/> of them, at least 1) of network outputs <c>[B, N, K]</c>.</summary>
    public abstract Tensor Loss(Tensor output, Tensor target, Tensor mask, Tensor real, int outputSize);

    /// <summary>The output columns of <paramref name="spec"/>, read from the network's <c>[B, N, K]</c> output.</summary>
    public abstract ModelOutputs Outputs(SetToSetModelSpec spec);

    /// <summary>Outputs read from the network's output after <paramref name="link"/>, with each row's element count.</summary>
    private protected static ModelOutputs Outputs(Func<Tensor, Tensor> link, params OutputColumn<(Tensor Output, long[] Counts)>[] columns)
        => ModelOutputs.Create<SetToSetNetwork, (Tensor, long[])>(
            (net, batch) => (link(net.forward(batch.X[0], batch.Mask[0]!)), batch.Mask[0]!.sum(1).CopyToArray<long>()), columns);

    /// <summary>A real vector per element, squared error; the scores are mapped back to the label's units.</summary>
    private sealed class Regression : PerElementTask
    {
        public override int LabelDimension(int outputSize) => outputSize;
        public override bool HasRealLabel => true;
        public override Tensor Target(Tensor labels) => labels;
        public override Tensor Loss(Tensor output, Tensor target, Tensor mask, Tensor real, int outputSize)
            => (output - target).Squared().sum(-1).MaskedFillScalar(mask.logical_not(), 0).sum() / real.MulScalar(outputSize);
        public override ModelOutputs Outputs(SetToSetModelSpec spec)
            => Outputs(o => o, OutputColumn.Set<(Tensor Output, long[] Counts)>(spec.ScoreColumnName, spec.OutputSize, o => Rows(spec, o.Output, o.Counts)));

        // The per-element outputs of each row in the label's units (label standardization inverted).
        private static float[][] Rows(SetToSetModelSpec spec, Tensor output, long[] counts)
        {
            var rows = SetToSetModelSpec.PerElementRows(output, counts);
            if (spec.LabelNormalization is { } ln)
                foreach (var row in rows) ln.InvertInPlace(row);
            return rows;
        }
    }

    /// <summary>One of K classes per element, cross-entropy; scores are the class probabilities.</summary>
    private sealed class Classification : PerElementTask
    {
        public override int LabelDimension(int outputSize) => 1;
        public override void CheckLabel(string labelColumn, int row, float[] label, int outputSize)
        {
            foreach (var c in label)
                if (c < 0 || c >= outputSize || c != MathF.Floor(c))
                    throw new SetColumnException(labelColumn, row, SetRule.LabelValue, $"the class index {c} is not an integer in 0..{outputSize - 1}");
        }
        public override Tensor Target(Tensor labels) => labels.squeeze(-1).to(ScalarType.Int64);
        public override Tensor Loss(Tensor output, Tensor target, Tensor mask, Tensor real, int outputSize)
            => nn.functional.cross_entropy(output.view(-1, outputSize), target.view(-1), reduction: nn.Reduction.None)
                .view(mask.shape).MaskedFillScalar(mask.logical_not(), 0).sum() / real;
        public override ModelOutputs Outputs(SetToSetModelSpec spec)
            => Outputs(o => o.softmax(-1),
                OutputColumn.Set<(Tensor Output, long[] Counts)>(spec.ScoreColumnName, spec.OutputSize, o => SetToSetModelSpec.PerElementRows(o.Output, o.Counts)),
                OutputColumn.VariableVector<(Tensor Output, long[] Counts)>(spec.PredictedLabelColumnName,
                    o => SetToSetModelSpec.PerElementRows(o.Output.argmax(-1).to(ScalarType.Float32).unsqueeze(-1), o.Counts)));
    }
}

/// <summary>
/// Amortized clustering (Set Transformer sec. 5.3): a set of points → the maximum-likelihood parameters of a
/// k-component diagonal Gaussian mixture, in one forward pass (<see cref="AmortizedMixtureNetwork"/>). Outputs per set:
/// the component of every element (a variable-length vector of 0-based indices, one per element), and the mixture's
/// weights (k), means (k·d, component-major) and variances (k·d).
/// </summary>
[SpecType("model.amortized-mixture")]
public sealed class AmortizedMixtureModelSpec : ModelSpec, INetworkSpec<AmortizedMixtureNetwork>
{
    /// <summary>The set encoder. With a <see cref="SetTransformerOptions"/> of <see cref="Components"/> seeds, one output per seed (the paper's design).</summary>
    public SetEncoderOptions Encoder { get; set; } = new SetTransformerOptions();
    /// <summary>Number k of mixture components.</summary>
    public int Components { get; set; } = 4;
    /// <summary>Per-element component column (variable-length vector, 0-based component per element).</summary>
    public string AssignmentsColumnName { get; set; } = "PredictedClusters";
    /// <summary>Mixture weights column (vector of k).</summary>
    public string WeightsColumnName { get; set; } = "MixtureWeights";
    /// <summary>Means column (vector of k·d, component-major).</summary>
    public string MeansColumnName { get; set; } = "MixtureMeans";
    /// <summary>Variances column (vector of k·d, component-major; diagonal covariances).</summary>
    public string VariancesColumnName { get; set; } = "MixtureVariances";

    /// <summary>Element dimension d.</summary>
    public int ElementDimension => Inputs[0].ElementDimension;

    /// <inheritdoc />
    public override nn.Module CreateNetwork() => CreateAmortizedMixtureNetwork();

    AmortizedMixtureNetwork INetworkSpec<AmortizedMixtureNetwork>.CreateTypedNetwork() => CreateAmortizedMixtureNetwork();

    private AmortizedMixtureNetwork CreateAmortizedMixtureNetwork() => new AmortizedMixtureNetwork(Encoder.CreateEncoder(ElementDimension), Components, ElementDimension);

    /// <inheritdoc />
    public override ModelOutputs CreateOutputs()
    {
        int k = Components, d = ElementDimension;
        var perDim = Enumerable.Range(0, k).SelectMany(j => Enumerable.Range(0, d).Select(i => $"c{j}.x{i}")).ToArray();
        return ModelOutputs.Create<AmortizedMixtureNetwork, MixtureForward>(
            (net, batch) =>
            {
                var (x, mask) = (batch.X[0], batch.Mask[0]!);
                var theta = net.forward(x, mask);
                var (weights, means, variances) = Split(theta, d);
                return new MixtureForward(MixtureOfGaussians.Assignments(theta, x), weights, means, variances, mask.sum(1).CopyToArray<long>());
            },
            OutputColumn.VariableVector<MixtureForward>(AssignmentsColumnName,
                o => SetToSetModelSpec.PerElementRows(o.Assignments.to(ScalarType.Float32).unsqueeze(-1), o.Counts)),
            OutputColumn.Vector<MixtureForward>(WeightsColumnName, k, Enumerable.Range(0, k).Select(j => $"c{j}").ToArray(), o => EncoderModelSpec.Rows(o.Weights)),
            OutputColumn.Vector<MixtureForward>(MeansColumnName, k * d, perDim, o => EncoderModelSpec.Rows(o.Means.flatten(1))),
            OutputColumn.Vector<MixtureForward>(VariancesColumnName, k * d, perDim, o => EncoderModelSpec.Rows(o.Variances.flatten(1))));
    }

    /// <summary>One batch's forward result: per-element components, the mixture's parameters and each row's element count.</summary>
    private sealed record MixtureForward(Tensor Assignments, Tensor Weights, Tensor Means, Tensor Variances, long[] Counts);

    /// <inheritdoc />
    public override double EstimateForwardBytes(int batch, IReadOnlyList<long> setSizes)
        // The encoder, then the mixture's log-densities of every element under every component ([B, n, k, d], a few tensors).
        => Encoder.EstimateForwardBytes(ElementDimension, batch, setSizes[0])
           + (double)batch * setSizes[0] * Components * (ElementDimension * 4.0 + 4) * ForwardMemory.FloatBytes;

    /// <inheritdoc />
    public override string DescribeMemory() => $"amortized clustering with a {Encoder.GetType().Name.Replace("Options", "")} encoder, {Encoder.MemoryGrowth}";

    /// <summary>Splits θ <c>[B, k, 1 + 2d]</c> into weights π <c>[B, k]</c>, means <c>[B, k, d]</c> and variances σ² <c>[B, k, d]</c>.</summary>
    public static (Tensor Weights, Tensor Means, Tensor Variances) Split(Tensor theta, int d)
        => (theta[.., .., 0].softmax(-1), theta[.., .., 1..(1 + d)], theta[.., .., (1 + d)..].MulScalar(2).exp());

    /// <summary>Inverse of <see cref="Split"/>: θ from weights <c>[B, k]</c>, means and variances <c>[B, k, d]</c>.</summary>
    public static Tensor Join(Tensor weights, Tensor means, Tensor variances)
        => torch.cat(new[] { weights.ClampMinScalar(1e-12).log().unsqueeze(-1), means, variances.ClampMinScalar(1e-12).log().MulScalar(0.5) }, -1);
}
