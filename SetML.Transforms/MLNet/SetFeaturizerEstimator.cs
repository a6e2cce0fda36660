using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;

namespace SetML.Transforms;

/// <summary>
/// Estimator of a learned set featurizer: trains a set encoder (chosen by <see cref="SetModelOptions.Encoder"/>)
/// with a head on the label (or, without a label, as the encoder of a set auto-encoder), then keeps the encoder and outputs its embedding as a fixed-size vector column that
/// any ML.NET trainer can consume. Created by <c>mlContext.Transforms.DeepSets(...)</c>, <c>.SetTransformer(...)</c>, etc.
/// </summary>
public sealed class SetFeaturizerEstimator : IEstimator<SetModelTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly string _output, _input;
    private readonly string? _label;
    private readonly int _d;
    private readonly SetFeaturizerOptions _options;

    internal SetFeaturizerEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, int elementDimension,
        string? labelColumnName, SetFeaturizerOptions options)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _output = outputColumnName ?? throw new ArgumentNullException(nameof(outputColumnName));
        _input = inputColumnName ?? outputColumnName;
        _d = elementDimension;
        _label = labelColumnName;
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (elementDimension <= 0)
            throw new SetColumnException(_input, null, SetRule.ElementDimensionPositive, $"the element dimension must be positive, but {elementDimension} was given");
    }

    /// <summary>Optional validation data (used for early stopping and the reported validation loss).</summary>
    public IDataView? ValidationData { get; init; }

    /// <summary>Trains the encoder on <paramref name="input"/> and returns the featurizer.</summary>
    public SetModelTransformer Fit(IDataView input)
    {
        if (_label == null) // unsupervised: the encoder of a set auto-encoder (decoder: SetAutoEncoderFeaturizerOptions.Decoder, DSPN by default)
            return new AutoEncoderFeaturizerTrainer(_env, _options, _input, _d, _output).Fit(input, ValidationData);
        var task = _options.Task ?? InferTask(input.Schema, _label);
        using (var ch = _env.Register("SetML").Start("Featurizer task"))
        {
            var type = input.Schema.GetColumnOrNull(_label)?.Type;
            ch.Info(_options.Task != null
                ? $"Featurizer '{_output}': training task {task}, set by SetFeaturizerOptions.Task (label '{_label}' of type {type})."
                : $"Featurizer '{_output}': training task {task}, chosen from the type of label '{_label}' ({type}): " +
                  "Boolean → BinaryClassification, key → MulticlassClassification, other numbers → Regression. " +
                  "Set SetFeaturizerOptions.Task to choose another (e.g. PoissonRegression for counts).");
        }
        return new EncoderModelTrainer(_env, _options, _input, _d, _label, task, _options.RegressionLoss, _output).Fit(input, ValidationData);
    }

    /// <summary>The task used for a label column's type: Single → regression, Boolean → binary, key → multiclass.</summary>
    internal static SetTask InferTask(DataViewSchema schema, string label)
    {
        var col = schema.GetColumnOrNull(label)
            ?? throw new SetColumnException(label, null, SetRule.ColumnExists, "the label column was not found in the input schema");
        return col.Type switch
        {
            BooleanDataViewType => SetTask.BinaryClassification,
            KeyDataViewType => SetTask.MulticlassClassification,
            NumberDataViewType => SetTask.Regression,
            _ => throw new SetColumnException(label, null, SetRule.ColumnType, $"cannot train on a label of type {col.Type}; use Single, Boolean or a key"),
        };
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SetColumn.ValidateSchemaShape(inputSchema, _input, _d);
        if (_label != null && !SchemaShapes.TryFindColumn(inputSchema, _label, out _))
            throw new SetColumnException(_label, null, SetRule.ColumnExists, "the label column was not found in the input schema");
        var model = _label == null
            ? new AutoEncoderFeaturizerTrainer(_env, _options, _input, _d, _output).Describe()
            : new EncoderModelTrainer(_env, _options, _input, _d, _label, _options.Task ?? SetTask.Regression, _options.RegressionLoss, _output).Describe();
        return SchemaShapes.WithOutputs(inputSchema, model.GetOutputColumns());
    }
}
