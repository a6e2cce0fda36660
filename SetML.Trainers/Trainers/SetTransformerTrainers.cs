using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Modules;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Trainers;

/// <summary>
/// Options of the set → set (per-element) trainers. <see cref="SetModelOptions.NormalizeSetElements"/> standardizes the
/// input elements and, for regression, <see cref="SetModelOptions.NormalizeRegressionLabel"/> the label elements per feature.
/// </summary>
public class SetToSetOptions : SetModelOptions
{
    /// <summary>
    /// The attention stack: only the SAB/ISAB part of a <see cref="SetTransformerOptions"/> is used (no PMA). Default: null =
    /// <c>new SetTransformerOptions()</c> (SAB(128, 4) × 2, no LayerNorm). <see cref="SetModelOptions.Encoder"/> and
    /// <see cref="SetModelOptions.HeadHiddenSizes"/> are not used by these trainers.
    /// </summary>
    public SetTransformerOptions? Layers { get; set; }
}

/// <summary>Options of <see cref="AmortizedMixtureTrainer"/>.</summary>
public class AmortizedMixtureOptions : SetModelOptions
{
    /// <summary>
    /// Creates the options with the paper's defaults (10 sets per step, Adam 1e-3), no element standardization
    /// (<see cref="SetModelOptions.NormalizeSetElements"/> = false: the predicted mixture and its likelihood are in the
    /// input's own coordinates, and the amortized mixture does not support standardized inputs), and
    /// <see cref="SetTrainingOptions.GroupBatchesBySetSize"/> on: the paper's sets have 100–500 points, so plain batches
    /// spend about a third of the compute on padding.
    /// </summary>
    public AmortizedMixtureOptions() { BatchSize = 10; Epochs = 1; AllowEmptySets = false; GroupBatchesBySetSize = true; NormalizeSetElements = false; }

    /// <summary>Number k of mixture components. Default: 4 (the paper's synthetic task).</summary>
    public int Components { get; set; } = 4;
    /// <summary>Per-element component column. Default: "PredictedClusters".</summary>
    public string AssignmentsColumnName { get; set; } = "PredictedClusters";
    /// <summary>Mixture weights column (k values). Default: "MixtureWeights".</summary>
    public string WeightsColumnName { get; set; } = "MixtureWeights";
    /// <summary>Means column (k·d values, component-major). Default: "MixtureMeans".</summary>
    public string MeansColumnName { get; set; } = "MixtureMeans";
    /// <summary>Variances column (k·d values, component-major). Default: "MixtureVariances".</summary>
    public string VariancesColumnName { get; set; } = "MixtureVariances";

    /// <summary>
    /// The paper's amortized-clustering encoder for <paramref name="components"/> components (Table 8): ISAB_16(128, 4) × 2,
    /// PMA_k(128, 4), SAB(128, 4); no LayerNorm (see <see cref="SetTransformerOptions.LayerNorm"/>).
    /// </summary>
    public static SetTransformerOptions PaperEncoder(int components) => new()
    {
        UseInducedPoints = true, InducingPoints = 16, Layers = 2, Width = 128, Heads = 4, Seeds = components,
    };

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Components < 1) throw new ArgumentOutOfRangeException(nameof(Components), Components, "Components must be ≥ 1.");
        if (NormalizeSetElements)
            throw new ArgumentException("The amortized mixture is fitted in the coordinates of its input (its means, variances and log-likelihood " +
                "are in those units), so it does not standardize the elements: leave NormalizeSetElements false.", nameof(NormalizeSetElements));
    }
}

/// <summary>
/// Set → set trainer (per-element regression or classification): an SAB/ISAB stack with a per-element linear output,
/// permutation-equivariant. The label is a set column with one target per element, in the same order as the input
/// set (regression: <c>labelElementDimension</c> values per element; classification: one 0-based class index per element).
/// Output: <c>Score</c>, a set column with one vector per element (annotated with its element dimension), and for
/// classification <c>PredictedLabel</c>, one class index per element.
/// </summary>
public sealed class SetToSetTrainer : IEstimator<SetModelTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly string _label, _set;
    private readonly int _d, _outputs;
    private readonly SetToSetTask _task;
    private readonly SetToSetOptions _options;

    internal SetToSetTrainer(IHostEnvironment env, SetToSetTask task, string labelColumnName, string setColumnName, int elementDimension,
        int outputsPerElement, SetToSetOptions options)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _label = labelColumnName ?? throw new ArgumentNullException(nameof(labelColumnName));
        _set = setColumnName ?? throw new ArgumentNullException(nameof(setColumnName));
        if (elementDimension <= 0)
            throw new SetColumnException(setColumnName, null, SetRule.ElementDimensionPositive, $"the element dimension must be positive, but {elementDimension} was given");
        if (outputsPerElement <= 0)
            throw new ArgumentOutOfRangeException(nameof(outputsPerElement), outputsPerElement, "The number of outputs (label dimension or classes) per element must be ≥ 1.");
        _task = task; _d = elementDimension; _outputs = outputsPerElement;
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        (options.Layers ?? new SetTransformerOptions()).Validate();
    }

    /// <summary>The per-element task.</summary>
    public SetToSetTask Task => _task;

    /// <summary>Trains the model.</summary>
    public SetModelTransformer Fit(IDataView input) => new Training(this).Fit(input, validationData: null);

    /// <summary>The set → set task's hooks of the training template: label sets with one target per element.</summary>
    private sealed class Training(SetToSetTrainer t) : SetModelTrainer<SetToSetModelSpec, SetToSetNetwork>(t._env, t._options)
    {
        private readonly List<float[]> _sets = new(), _labels = new();
        private SetToSetModelSpec _spec = null!;
        private readonly PerElementTask _rules = PerElementTask.For(t._task);
        private int LabelDimension => _rules.LabelDimension(t._outputs);

        protected override SetToSetModelSpec CreateSpec(DataViewSchema schema)
        {
            SetColumn.ValidateSchema(schema, t._set, t._d);
            SetColumn.ValidateSchema(schema, t._label, LabelDimension);
            return _spec = Describe();
        }

        /// <summary>The model before training (no data needed): also what the estimator's output schema is derived from.</summary>
        public SetToSetModelSpec Describe()
        {
            return new SetToSetModelSpec
            {
                Inputs = { SetInput(t._set, t._d, t._options.AllowEmptySets, t._options.MaximumSetSize) },
                Encoder = SpecJson.Clone(t._options.Layers ?? new SetTransformerOptions()),
                Task = t._task,
                OutputSize = t._outputs,
            };
        }

        protected override string Title(SetToSetModelSpec spec) => $"Training set → set attention stack ({t._task})";

        protected override int ReadRows(IChannel ch, IDataView data, SetToSetModelSpec spec, string what)
        {
            var sets = SetDataReader.ReadInput(data, spec.Inputs[0]);
            var labels = SetDataReader.ReadInput(data, new ModelInput { ColumnName = t._label, Kind = ModelInputKind.Set, ElementDimension = LabelDimension });
            for (int i = 0; i < sets.Count; i++)
            {
                if (labels[i].Length / LabelDimension != sets[i].Length / t._d)
                    throw new SetColumnException(t._label, i, SetRule.LabelValue,
                        $"the label set has {labels[i].Length / LabelDimension} elements but the input set '{t._set}' has {sets[i].Length / t._d}; a set → set label needs one target per element");
                _rules.CheckLabel(t._label, i, labels[i], t._outputs);
            }
            _sets.AddRange(sets);
            _labels.AddRange(labels);
            return sets.Count;
        }

        protected override Func<int, int> SetSize => i => _sets[i].Length / t._d;

        /// <summary>Standardization statistics of the training rows only, applied to every row.</summary>
        protected override void Prepare(IChannel ch, SetToSetModelSpec spec, int[] trainingRows)
        {
            if (t._options.NormalizeSetElements)
            {
                spec.Inputs[0].Normalization = SetElementNormalization.Compute(trainingRows.Select(i => _sets[i]).ToList(), t._d);
                spec.Inputs[0].Normalization!.ApplyInPlace(_sets);
            }
            if (_rules.HasRealLabel && t._options.NormalizeRegressionLabel)
            {
                spec.LabelNormalization = SetElementNormalization.Compute(trainingRows.Select(i => _labels[i]).ToList(), LabelDimension);
                spec.LabelNormalization.ApplyInPlace(_labels);
            }
        }

        protected override Tensor BatchLoss(SetToSetNetwork network, Device device, int[] rows)
        {
            var (x, mask) = SetBatch.Pad(rows.Select(i => _sets[i]).ToList(), t._d, device);
            var (y, _) = SetBatch.Pad(rows.Select(i => _labels[i]).ToList(), LabelDimension, device, (int)x.shape[1]);
            var output = network.forward(x, mask);
            return _spec.Loss(output, _rules.Target(y), mask);
        }
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SetColumn.ValidateSchemaShape(inputSchema, _set, _d);
        if (!SchemaShapes.TryFindColumn(inputSchema, _label, out _))
            throw new SetColumnException(_label, null, SetRule.ColumnExists, "the label column was not found in the input schema");
        return SchemaShapes.WithOutputs(inputSchema, new Training(this).Describe().GetOutputColumns());
    }
}

/// <summary>
/// Amortized clustering trainer (Set Transformer sec. 5.3): learns a network that maps a set of points to the
/// maximum-likelihood parameters of a k-component diagonal Gaussian mixture, by maximising the mixture
/// log-likelihood of each training set (eq. 18, per point). No labels: every row is one data set to cluster.
/// Outputs per row: the component of every point, and the mixture's weights, means and variances.
/// </summary>
public sealed class AmortizedMixtureTrainer : IEstimator<SetModelTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly string _set;
    private readonly int _d;
    private readonly AmortizedMixtureOptions _options;

    internal AmortizedMixtureTrainer(IHostEnvironment env, string setColumnName, int elementDimension, AmortizedMixtureOptions options)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _set = setColumnName ?? throw new ArgumentNullException(nameof(setColumnName));
        if (elementDimension <= 0)
            throw new SetColumnException(setColumnName, null, SetRule.ElementDimensionPositive, $"the element dimension must be positive, but {elementDimension} was given");
        _d = elementDimension;
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <summary>Trains the model.</summary>
    public SetModelTransformer Fit(IDataView input) => new Training(this).Fit(input, validationData: null);

    /// <summary>The amortized mixture's hooks of the training template: no label, the loss is the mixture's negative log-likelihood.</summary>
    private sealed class Training(AmortizedMixtureTrainer t) : SetModelTrainer<AmortizedMixtureModelSpec, AmortizedMixtureNetwork>(t._env, t._options)
    {
        private readonly List<float[]> _sets = new();

        protected override AmortizedMixtureModelSpec CreateSpec(DataViewSchema schema)
        {
            SetColumn.ValidateSchema(schema, t._set, t._d);
            return Describe();
        }

        /// <summary>The model before training (no data needed): also what the estimator's output schema is derived from.</summary>
        public AmortizedMixtureModelSpec Describe()
        {
            var o = t._options;
            return new AmortizedMixtureModelSpec
            {
                Inputs = { SetInput(t._set, t._d, o.AllowEmptySets, o.MaximumSetSize) },
                Encoder = SpecJson.Clone(o.Encoder ?? AmortizedMixtureOptions.PaperEncoder(o.Components)),
                Components = o.Components,
                AssignmentsColumnName = o.AssignmentsColumnName, WeightsColumnName = o.WeightsColumnName,
                MeansColumnName = o.MeansColumnName, VariancesColumnName = o.VariancesColumnName,
            };
        }

        protected override string Title(AmortizedMixtureModelSpec spec)
            => $"Training amortized mixture ({t._options.Components} components, {spec.Encoder.GetType().Name})";

        protected override int ReadRows(IChannel ch, IDataView data, AmortizedMixtureModelSpec spec, string what)
        {
            var sets = SetDataReader.ReadInput(data, spec.Inputs[0]);
            _sets.AddRange(sets);
            return sets.Count;
        }

        protected override Func<int, int> SetSize => i => _sets[i].Length / t._d;

        protected override Tensor BatchLoss(AmortizedMixtureNetwork network, Device device, int[] rows)
        {
            var (x, mask) = SetBatch.Pad(rows.Select(i => _sets[i]).ToList(), t._d, device);
            var theta = network.forward(x, mask);
            return MixtureOfGaussians.LogLikelihoodPerPoint(theta, x, mask).mean().neg(); // −(eq. 18)/n, averaged over sets
        }
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SetColumn.ValidateSchemaShape(inputSchema, _set, _d);
        return SchemaShapes.WithOutputs(inputSchema, new Training(this).Describe().GetOutputColumns());
    }
}

/// <summary>Quality of amortized mixture parameters on a set of data sets (Set Transformer Table 2).</summary>
/// <param name="LogLikelihood">LL0/data: mean over sets of the per-point log-likelihood under the predicted mixture.</param>
/// <param name="LogLikelihoodAfterEmStep">LL1/data: the same after one EM step started from the predicted mixture.</param>
/// <param name="Sets">Number of (non-empty) sets evaluated.</param>
/// <param name="Points">Number of points in those sets.</param>
public sealed record AmortizedMixtureMetrics(double LogLikelihood, double LogLikelihoodAfterEmStep, int Sets, long Points);

/// <summary>Evaluation of amortized mixture predictions (LL0 and LL1 of the Set Transformer paper).</summary>
public static class AmortizedMixtureEvaluator
{
    /// <summary>
    /// Reads the set column and the predicted weights/means/variances from <paramref name="predictions"/> (the output of an
    /// <see cref="AmortizedMixtureTrainer"/> model's Transform) and computes LL0/data and LL1/data in double precision.
    /// Empty sets are skipped.
    /// </summary>
    public static AmortizedMixtureMetrics Evaluate(IDataView predictions, string setColumnName, int elementDimension,
        string weightsColumnName = "MixtureWeights", string meansColumnName = "MixtureMeans", string variancesColumnName = "MixtureVariances",
        int batchSize = 64)
    {
        var read = (string c) => SetDataReader.ReadInput(predictions, new ModelInput { ColumnName = c, Kind = ModelInputKind.Set, ElementDimension = 1 });
        SetColumn.ValidateSchema(predictions.Schema, setColumnName, elementDimension);
        var sets = SetDataReader.ReadInput(predictions, new ModelInput { ColumnName = setColumnName, Kind = ModelInputKind.Set, ElementDimension = elementDimension });
        foreach (var c in new[] { weightsColumnName, meansColumnName, variancesColumnName })
            if (predictions.Schema.GetColumnOrNull(c) == null)
                throw new SetColumnException(c, null, SetRule.ColumnExists, "the mixture parameter column was not found: pass the output of the amortized mixture model's Transform");
        var (w, mu, v) = (read(weightsColumnName), read(meansColumnName), read(variancesColumnName));
        int d = elementDimension;
        double ll0 = 0, ll1 = 0; int count = 0; long points = 0;
        var nonEmpty = Enumerable.Range(0, sets.Count).Where(i => sets[i].Length > 0).ToArray();
        for (int start = 0; start < nonEmpty.Length; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var idx = nonEmpty.AsSpan(start, Math.Min(batchSize, nonEmpty.Length - start)).ToArray();
            int k = w[idx[0]].Length;
            var (x, mask) = SetBatch.Pad(idx.Select(i => sets[i]).ToList(), d);
            var xd = x.to(ScalarType.Float64);
            var theta = AmortizedMixtureModelSpec.Join(
                torch.tensor(idx.SelectMany(i => w[i]).ToArray(), new long[] { idx.Length, k }).to(ScalarType.Float64),
                torch.tensor(idx.SelectMany(i => mu[i]).ToArray(), new long[] { idx.Length, k, d }).to(ScalarType.Float64),
                torch.tensor(idx.SelectMany(i => v[i]).ToArray(), new long[] { idx.Length, k, d }).to(ScalarType.Float64));
            ll0 += MixtureOfGaussians.LogLikelihoodPerPoint(theta, xd, mask).sum().item<double>();
            ll1 += MixtureOfGaussians.LogLikelihoodPerPoint(MixtureOfGaussians.EmStep(theta, xd, mask), xd, mask).sum().item<double>();
            count += idx.Length;
            points += idx.Sum(i => (long)sets[i].Length / d);
        }
        if (count == 0) throw new InvalidOperationException($"No non-empty set in column '{setColumnName}' to evaluate.");
        return new AmortizedMixtureMetrics(ll0 / count, ll1 / count, count, points);
    }
}
