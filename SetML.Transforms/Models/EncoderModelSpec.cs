using SetML.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Models;

/// <summary>What a set → vector model predicts.</summary>
public enum SetTask
{
    /// <summary>A real value (Score). Trained with the regression loss.</summary>
    Regression,
    /// <summary>Two classes (Score = logit, Probability, PredictedLabel). Trained with binary cross-entropy.</summary>
    BinaryClassification,
    /// <summary>K classes (Score = class probabilities, PredictedLabel = key). Trained with cross-entropy.</summary>
    MulticlassClassification,
    /// <summary>A count (Score = Poisson rate λ, PredictedCount = mode ⌊λ⌋). Trained with the Poisson negative log-likelihood.</summary>
    PoissonRegression,
}

/// <summary>Loss for <see cref="SetTask.Regression"/>.</summary>
public enum RegressionLoss
{
    /// <summary>Mean squared error.</summary>
    Squared,
    /// <summary>Mean absolute error (the loss of the Set Transformer paper's max-regression task).</summary>
    Absolute,
    /// <summary>Huber loss with δ = 1.</summary>
    Huber,
}

/// <summary>
/// A set encoder + MLP head for one <see cref="SetTask"/>. As a featurizer (<see cref="EmbeddingColumnName"/> set),
/// it outputs the encoder's embedding; as a trainer, the task's standard ML.NET columns.
/// </summary>
[SpecType("model.set-encoder")]
public sealed class EncoderModelSpec : ModelSpec, INetworkSpec<EncoderHeadNetwork>
{
    /// <summary>The encoder configuration.</summary>
    public SetEncoderOptions Encoder { get; set; } = new DeepSetsOptions();
    /// <summary>Hidden widths of the head MLP.</summary>
    public int[] HeadHiddenSizes { get; set; } = { 64 };
    /// <summary>Dropout in the head during training.</summary>
    public double Dropout { get; set; }
    /// <summary>The supervised task the network was trained on.</summary>
    public SetTask Task { get; set; }
    /// <summary>Number of classes (multiclass), otherwise 1.</summary>
    public int OutputSize { get; set; } = 1;
    /// <summary>Class names (multiclass key values), in key order.</summary>
    public string[]? ClassNames { get; set; }
    /// <summary>
    /// The .NET type name of the label's key values (<c>Single</c>, <c>Int32</c>, …), so PredictedLabel's KeyValues have the
    /// label's type; null or <c>String</c> = text (also what older model files get).
    /// </summary>
    public string? ClassKeyValueType { get; set; }
    /// <summary>
    /// Standardization of a regression label (mean and scale, one value each), learned in <c>Fit</c>: the network is
    /// trained on (y − mean)/scale and its output is mapped back (score·scale + mean). Null = none (older model files).
    /// </summary>
    public SetColumns.SetElementNormalization? LabelNormalization { get; set; }
    /// <summary>When set, the model is a featurizer and outputs only the embedding in this column.</summary>
    public string? EmbeddingColumnName { get; set; }
    /// <summary>Score column name (trainers).</summary>
    public string ScoreColumnName { get; set; } = "Score";
    /// <summary>Probability column name (binary trainers).</summary>
    public string ProbabilityColumnName { get; set; } = "Probability";
    /// <summary>Predicted label column name (classification trainers).</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";
    /// <summary>Predicted count column name (Poisson trainers).</summary>
    public string PredictedCountColumnName { get; set; } = "PredictedCount";

    /// <summary>Element dimension of the set input.</summary>
    public int ElementDimension => Inputs[0].ElementDimension;

    /// <inheritdoc />
    public override nn.Module CreateNetwork() => CreateEncoderHeadNetwork();

    EncoderHeadNetwork INetworkSpec<EncoderHeadNetwork>.CreateTypedNetwork() => CreateEncoderHeadNetwork();

    private EncoderHeadNetwork CreateEncoderHeadNetwork()
        => new EncoderHeadNetwork(Encoder.CreateEncoder(ElementDimension), HeadHiddenSizes, OutputSize, Dropout);

    /// <inheritdoc />
    public override ModelOutputs CreateOutputs()
    {
        if (EmbeddingColumnName != null)
            return ModelOutputs.Create<EncoderHeadNetwork, Tensor>((net, batch) => net.Embed(batch.X[0], batch.Mask[0]!),
                OutputColumn.Vector<Tensor>(EmbeddingColumnName, Encoder.CreateEmbeddingDimension(ElementDimension), null, Rows));
        return TaskOutputs.TryGetValue(Task, out var outputs)
            ? outputs(this)
            : throw new InvalidOperationException($"EncoderModelSpec: unknown task {Task}.");
    }

    /// <summary>
    /// The output columns of each <see cref="SetTask"/> (the task's standard ML.NET columns), each with its extractor
    /// from the head's output: the head's <c>[B, OutputSize]</c> output, mapped once per batch by the task's link
    /// (identity, softmax, exp).
    /// </summary>
    private static readonly IReadOnlyDictionary<SetTask, Func<EncoderModelSpec, ModelOutputs>> TaskOutputs = new Dictionary<SetTask, Func<EncoderModelSpec, ModelOutputs>>
    {
        [SetTask.Regression] = s => Head(o => o,
            OutputColumn.Single<Tensor>(s.ScoreColumnName, o => s.RegressionScores(o))),
        [SetTask.BinaryClassification] = s => Head(o => o,
            OutputColumn.Single<Tensor>(s.ScoreColumnName, o => o[.., 0].CopyToArray<float>()),
            OutputColumn.Single<Tensor>(s.ProbabilityColumnName, o => o[.., 0].sigmoid().CopyToArray<float>()),
            OutputColumn.Boolean<Tensor>(s.PredictedLabelColumnName, o => o[.., 0].CopyToArray<float>().Select(l => l > 0).ToArray())),
        [SetTask.MulticlassClassification] = s => Head(o => o.softmax(-1),
            OutputColumn.Vector<Tensor>(s.ScoreColumnName, s.OutputSize, s.ClassNames, Rows),
            OutputColumn.Key<Tensor>(s.PredictedLabelColumnName, s.OutputSize, s.ClassNames, s.ClassKeyValueType,
                probs => FirstMaximum(probs).Select(i => (uint)(i + 1)).ToArray())),
        [SetTask.PoissonRegression] = s => Head(o => o[.., 0].exp(),
            OutputColumn.Single<Tensor>(s.ScoreColumnName, rate => rate.CopyToArray<float>()),
            OutputColumn.Single<Tensor>(s.PredictedCountColumnName, rate => rate.CopyToArray<float>().Select(PoissonMode).ToArray())),
    };

    /// <summary>Outputs read from the head's output on the CPU after the task's <paramref name="link"/>.</summary>
    private static ModelOutputs Head(Func<Tensor, Tensor> link, params OutputColumn<Tensor>[] columns)
        => ModelOutputs.Create<EncoderHeadNetwork, Tensor>((net, batch) => link(net.forward(batch.X[0], batch.Mask[0]!).OnCpu()), columns);

    /// <summary>
    /// Per row of <c>[B, K]</c> <paramref name="probabilities"/>, the index of its first maximum (a NaN counts as the
    /// maximum), as <c>torch.argmax</c> gives it, read from the copy the scores are read from (no tensor of its own).
    /// </summary>
    internal static int[] FirstMaximum(Tensor probabilities)
    {
        int b = (int)probabilities.size(0), k = (int)probabilities.size(1);
        var values = probabilities.CopyToArray<float>();
        var index = new int[b];
        for (int r = 0; r < b; r++)
        {
            var row = values.AsSpan(r * k, k);
            int best = 0;
            for (int j = 1; j < k && !float.IsNaN(row[best]); j++)
                if (float.IsNaN(row[j]) || row[j] > row[best]) best = j;
            index[r] = best;
        }
        return index;
    }

    /// <summary>The regression scores in the label's units (label standardization inverted).</summary>
    private float[] RegressionScores(Tensor output)
    {
        var score = output[.., 0].CopyToArray<float>();
        if (LabelNormalization is { } ln) for (int i = 0; i < score.Length; i++) score[i] = ln.Invert(score[i]);
        return score;
    }

    /// <inheritdoc />
    public override double EstimateForwardBytes(int batch, IReadOnlyList<long> setSizes)
        => Encoder.EstimateForwardBytes(ElementDimension, batch, setSizes[0]) + ForwardMemory.Mlp(batch, HeadHiddenSizes, OutputSize + 2);

    /// <inheritdoc />
    public override string DescribeMemory() => $"{Encoder.GetType().Name.Replace("Options", "")} encoder, {Encoder.MemoryGrowth}";

    /// <summary>The mode of a Poisson distribution with rate λ: ⌊λ⌋ (for integer λ, λ − 1 and λ tie; ⌊λ⌋ is returned).</summary>
    public static float PoissonMode(float rate) => MathF.Floor(rate);

    /// <summary>Copies a <c>[B, F]</c> tensor into one array per row.</summary>
    public static float[][] Rows(Tensor t)
    {
        long b = t.size(0), f = t.size(1);
        var flat = t.CopyToArray<float>();
        var rows = new float[b][];
        for (long i = 0; i < b; i++) { rows[i] = new float[f]; Array.Copy(flat, i * f, rows[i], 0, f); }
        return rows;
    }
}
