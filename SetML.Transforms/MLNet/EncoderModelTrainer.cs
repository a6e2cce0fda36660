using Microsoft.ML;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Transforms;

/// <summary>
/// Trains an <see cref="EncoderModelSpec"/> (set encoder + MLP head) on one <see cref="SetTask"/>: the set → vector
/// trainers of SetML.Trainers and the supervised set featurizers (<see cref="SetFeaturizerEstimator"/>, which keep only
/// the encoder's embedding as their output column).
/// </summary>
internal sealed class EncoderModelTrainer : SetModelTrainer<EncoderModelSpec, EncoderHeadNetwork>
{
    private readonly SetModelOptions _options;
    private readonly string _setColumn, _labelColumn;
    private readonly string? _embeddingColumn;
    private readonly int _d;
    private readonly SetTask _task;
    private readonly EncoderTaskLoss _taskLoss;
    private readonly List<float[]> _sets = new();
    private float[] _targets = Array.Empty<float>();
    private readonly Random _chunkRandom;

    /// <param name="env">The ML.NET environment.</param>
    /// <param name="options">Training and model options.</param>
    /// <param name="setColumn">The set column.</param>
    /// <param name="elementDimension">Its element dimension d.</param>
    /// <param name="labelColumn">The label column.</param>
    /// <param name="task">The task (how the label is read, the loss, the output columns).</param>
    /// <param name="regressionLoss">The loss of <see cref="SetTask.Regression"/>.</param>
    /// <param name="embeddingColumn">For a featurizer, the embedding column (the model's only output); null for a trainer.</param>
    public EncoderModelTrainer(IHostEnvironment env, SetModelOptions options, string setColumn, int elementDimension, string labelColumn,
        SetTask task, RegressionLoss regressionLoss, string? embeddingColumn)
        : base(env, options)
    {
        _options = options;
        _setColumn = setColumn; _d = elementDimension; _labelColumn = labelColumn; _task = task; _embeddingColumn = embeddingColumn;
        _taskLoss = EncoderTaskLoss.For(task, regressionLoss);
        _chunkRandom = new Random(options.Seed ^ 0x0b1a5);                     // UMBC chunk draws: same seed, same model
    }

    protected override EncoderModelSpec CreateSpec(DataViewSchema schema)
    {
        SetColumn.ValidateSchema(schema, _setColumn, _d);
        return Describe();
    }

    /// <summary>The model before training (no data needed): also what the estimators' output schemas are derived from.</summary>
    internal EncoderModelSpec Describe() => Describe(_options, _setColumn, _d, _task, _embeddingColumn, _options.Dropout);

    /// <summary>An encoder + head model of the options' encoder on <paramref name="setColumn"/>, for <paramref name="task"/>.</summary>
    internal static EncoderModelSpec Describe(SetModelOptions options, string setColumn, int d, SetTask task, string? embeddingColumn, double dropout) => new()
    {
        Inputs = { SetInput(setColumn, d, options.AllowEmptySets, options.MaximumSetSize) },
        Encoder = SpecJson.Clone(options.Encoder ?? new DeepSetsOptions()),
        HeadHiddenSizes = options.HeadHiddenSizes.ToArray(),
        Dropout = dropout,
        Task = task,
        EmbeddingColumnName = embeddingColumn,
    };

    protected override string Title(EncoderModelSpec spec)
        => $"{spec.Encoder.GetType().Name.Replace("Options", "")} {_task} on '{_setColumn}' (d = {_d})";

    /// <summary>
    /// Reads the sets and the task's targets. Rows whose label is missing (NaN, key 0) are skipped, as ML.NET's trainers
    /// do, and counted in the log; no labelled row at all is an error.
    /// </summary>
    protected override int ReadRows(IChannel ch, IDataView data, EncoderModelSpec spec, string what)
    {
        if (what != "training") SetColumn.ValidateSchema(data.Schema, _setColumn, _d);
        var sets = SetDataReader.ReadInput(data, spec.Inputs[0]);
        var y = _taskLoss.ReadLabel(data, _labelColumn, spec);
        int total = y.Length, missing = y.Count(float.IsNaN);
        if (missing > 0)
        {
            if (missing == total)
                throw new SetColumnException(_labelColumn, null, SetRule.LabelValue,
                    $"all {total} {what} rows have a missing label (NaN, or key 0 for a key label); at least one labelled row is needed");
            ch.Warning($"Skipped {missing} of {total} {what} rows whose label '{_labelColumn}' is missing (NaN, or key 0 for a key label).");
            var keep = Enumerable.Range(0, total).Where(i => !float.IsNaN(y[i])).ToArray();
            sets = keep.Select(i => sets[i]).ToList();
            y = keep.Select(i => y[i]).ToArray();
        }
        _sets.AddRange(sets);
        _targets = _targets.Concat(y).ToArray();
        return sets.Count;
    }

    protected override Func<int, int> SetSize => i => _sets[i].Length / _d;

    /// <summary>Standardization statistics of the training rows only (never of validation rows), then applied to every row.</summary>
    protected override void Prepare(IChannel ch, EncoderModelSpec spec, int[] trainingRows)
    {
        var input = spec.Inputs[0];
        if (_options.NormalizeSetElements)
        {
            input.Normalization = SetElementNormalization.Compute(trainingRows.Select(i => _sets[i]).ToList(), _d);
            input.Normalization.ApplyInPlace(_sets);
            ch.Info($"Set elements standardized per feature over {input.Normalization.Count} training elements: mean [{Format(input.Normalization.Mean)}], sd [{Format(input.Normalization.Scale)}].");
        }
        if (_taskLoss.HasRealLabel && _options.NormalizeRegressionLabel)
        {
            spec.LabelNormalization = SetElementNormalization.Compute(new[] { trainingRows.Select(i => _targets[i]).ToArray() }, 1);
            _targets = spec.LabelNormalization.Apply(_targets);
            ch.Info($"Regression label standardized: mean {spec.LabelNormalization.Mean[0]:G6}, sd {spec.LabelNormalization.Scale[0]:G6} (scores are mapped back).");
        }
    }

    protected override bool SupportsGradientChunks => true;

    protected override Tensor BatchLoss(EncoderHeadNetwork network, Device device, int[] rows)
    {
        var (x, mask) = SetBatch.Pad(rows.Select(i => _sets[i]).ToList(), _d, device);
        var y = torch.tensor(rows.Select(i => _targets[i]).ToArray()).to(device);
        var output = _options.GradientChunkSize > 0
            ? network.Head(ChunkedSetGradient.Encode(network.Encoder, x, mask, _options.GradientChunkSize, _chunkRandom))
            : network.forward(x, mask);
        return _taskLoss.Loss(output, y);
    }

    private static string Format(float[] v) => string.Join(", ", v.Select(x => x.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>The training side of one <see cref="SetTask"/>: how its label column is read, and its loss on the head's outputs.</summary>
internal abstract class EncoderTaskLoss
{
    /// <summary>The task's label reader and loss.</summary>
    public static EncoderTaskLoss For(SetTask task, RegressionLoss regressionLoss) => task switch
    {
        SetTask.Regression => new Regression(regressionLoss),
        SetTask.BinaryClassification => new Binary(),
        SetTask.MulticlassClassification => new Multiclass(),
        SetTask.PoissonRegression => new Poisson(),
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown set task."),
    };

    /// <summary>The targets of every row (NaN = missing label; the row is skipped). May complete the spec (class count, names).</summary>
    public abstract float[] ReadLabel(IDataView data, string label, EncoderModelSpec spec);

    /// <summary>The loss on network outputs <c>[B, K]</c> and targets <c>[B]</c>, averaged over the rows.</summary>
    public abstract Tensor Loss(Tensor output, Tensor y);

    /// <summary>Whether the label is a real value that may be standardized (<see cref="SetModelOptions.NormalizeRegressionLabel"/>).</summary>
    public virtual bool HasRealLabel => false;

    private sealed class Regression(RegressionLoss kind) : EncoderTaskLoss
    {
        public override bool HasRealLabel => true;
        public override float[] ReadLabel(IDataView data, string label, EncoderModelSpec spec) => SetDataReader.ReadSingle(data, label);
        public override Tensor Loss(Tensor output, Tensor y) => kind switch
        {
            RegressionLoss.Squared => nn.functional.mse_loss(output[.., 0], y),
            RegressionLoss.Absolute => nn.functional.l1_loss(output[.., 0], y),
            _ => nn.functional.huber_loss(output[.., 0], y),
        };
    }

    private sealed class Binary : EncoderTaskLoss
    {
        public override float[] ReadLabel(IDataView data, string label, EncoderModelSpec spec)
            => SetDataReader.ReadBoolean(data, label).Select(b => b ? 1f : 0f).ToArray();
        public override Tensor Loss(Tensor output, Tensor y) => nn.functional.binary_cross_entropy_with_logits(output[.., 0], y);
    }

    private sealed class Multiclass : EncoderTaskLoss
    {
        public override float[] ReadLabel(IDataView data, string label, EncoderModelSpec spec)
        {
            var keys = SetDataReader.ReadKey(data, label);
            if (spec.OutputSize > 1 && spec.OutputSize != keys.Count)
                throw new SetColumnException(label, null, SetRule.ColumnType, $"the validation label has {keys.Count} classes but the training label has {spec.OutputSize}");
            spec.OutputSize = keys.Count;
            if (spec.ClassNames == null) (spec.ClassNames, spec.ClassKeyValueType) = (keys.Names, keys.ValueType);
            return keys.Classes.Select(c => c < 0 ? float.NaN : c).ToArray();
        }
        public override Tensor Loss(Tensor output, Tensor y) => nn.functional.cross_entropy(output, y.to(ScalarType.Int64));
    }

    private sealed class Poisson : EncoderTaskLoss
    {
        public override float[] ReadLabel(IDataView data, string label, EncoderModelSpec spec)
        {
            var y = SetDataReader.ReadSingle(data, label);
            for (int i = 0; i < y.Length; i++)
                if (y[i] < 0) throw new SetColumnException(label, i, SetRule.LabelValue, $"the count label is {y[i]}; Poisson regression needs counts ≥ 0");
            return y;
        }
        // Poisson NLL with log-rate output o: exp(o) − y·o (+ log y!, constant).
        public override Tensor Loss(Tensor output, Tensor y) => (output[.., 0].exp() - y * output[.., 0]).mean();
    }
}
