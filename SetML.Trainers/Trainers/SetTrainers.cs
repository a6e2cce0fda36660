using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Trainers;

/// <summary>
/// Base of SetML's set → vector trainers: a set encoder (any <see cref="SetEncoderOptions"/>) plus an MLP head, trained
/// on one task, producing the standard ML.NET prediction columns so <c>Evaluate</c> and <c>CrossValidate</c> work.
/// A new task is one subclass that names its <see cref="SetTask"/> and output columns.
/// </summary>
public abstract class SetTrainerBase : IEstimator<SetModelTransformer>
{
    private protected readonly IHostEnvironment Env;
    private protected readonly string Label, SetColumnName;
    private protected readonly int ElementDimension;
    private protected readonly SetModelOptions Options;

    private protected SetTrainerBase(IHostEnvironment env, string labelColumnName, string setColumnName, int elementDimension, SetModelOptions options)
    {
        Env = env ?? throw new ArgumentNullException(nameof(env));
        Label = labelColumnName ?? throw new ArgumentNullException(nameof(labelColumnName));
        SetColumnName = setColumnName ?? throw new ArgumentNullException(nameof(setColumnName));
        if (elementDimension <= 0)
            throw new SetColumnException(setColumnName, null, SetRule.ElementDimensionPositive, $"the element dimension must be positive, but {elementDimension} was given");
        ElementDimension = elementDimension;
        Options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <summary>The task this trainer learns.</summary>
    public abstract SetTask Task { get; }

    /// <summary>Optional validation data for early stopping (otherwise <see cref="SetTrainingOptions.ValidationFraction"/> applies).</summary>
    public IDataView? ValidationData { get; init; }

    private protected virtual RegressionLoss RegressionLoss => RegressionLoss.Squared;

    /// <summary>Trains the model.</summary>
    public SetModelTransformer Fit(IDataView input) => Trainer().Fit(input, ValidationData);

    private EncoderModelTrainer Trainer() => new(Env, Options, SetColumnName, ElementDimension, Label, Task, RegressionLoss, embeddingColumn: null);

    /// <summary>Annotations of an output column that come from the input schema (null: those the model declares).</summary>
    private protected virtual SchemaShape? Annotations(ModelOutputColumn output, SchemaShape inputSchema) => null;

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SetColumn.ValidateSchemaShape(inputSchema, SetColumnName, ElementDimension);
        if (!SchemaShapes.TryFindColumn(inputSchema, Label, out _))
            throw new SetColumnException(Label, null, SetRule.ColumnExists, "the label column was not found in the input schema");
        // The columns the trained model's spec declares (the transformer's schema comes from the same spec).
        return SchemaShapes.WithOutputs(inputSchema, Trainer().Describe().GetOutputColumns(), o => Annotations(o, inputSchema));
    }
}

/// <summary>Set regression: predicts a Single (<c>Score</c>) from a set.</summary>
public sealed class SetRegressionTrainer : SetTrainerBase
{
    internal SetRegressionTrainer(IHostEnvironment env, string label, string set, int d, SetRegressionOptions options)
        : base(env, label, set, d, options) { }
    /// <inheritdoc />
    public override SetTask Task => SetTask.Regression;
    private protected override RegressionLoss RegressionLoss => ((SetRegressionOptions)Options).RegressionLoss;
}

/// <summary>Binary set classification: <c>Score</c> (logit), <c>Probability</c>, <c>PredictedLabel</c>.</summary>
public sealed class SetBinaryClassificationTrainer : SetTrainerBase
{
    internal SetBinaryClassificationTrainer(IHostEnvironment env, string label, string set, int d, SetModelOptions options)
        : base(env, label, set, d, options) { }
    /// <inheritdoc />
    public override SetTask Task => SetTask.BinaryClassification;
}

/// <summary>Multiclass set classification: <c>Score</c> (class probabilities), <c>PredictedLabel</c> (key).</summary>
public sealed class SetMulticlassClassificationTrainer : SetTrainerBase
{
    internal SetMulticlassClassificationTrainer(IHostEnvironment env, string label, string set, int d, SetModelOptions options)
        : base(env, label, set, d, options) { }
    /// <inheritdoc />
    public override SetTask Task => SetTask.MulticlassClassification;
    private protected override SchemaShape? Annotations(ModelOutputColumn output, SchemaShape inputSchema)
    {
        // Like ML.NET's multiclass trainers: class names flow from the label's KeyValues (of any type) to PredictedLabel
        // (KeyValues of the same type) and, as text, to Score (SlotNames).
        SchemaShape.Column labelKeyValues = default;
        if (!(SchemaShapes.TryFindColumn(inputSchema, Label, out var label) && SchemaShapes.TryFindColumn(label.Annotations, "KeyValues", out labelKeyValues)))
            return null;
        return output.Kind == ModelOutputKind.Key ? SchemaShapes.Shape(new[] { labelKeyValues }) : SchemaShapes.SlotNames();
    }
}

/// <summary>
/// Poisson count regression (the unique-counting task of the Set Transformer paper): <c>Score</c> = rate λ,
/// <c>PredictedCount</c> = the mode of Poisson(λ) = ⌊λ⌋. Trained with the Poisson negative log-likelihood.
/// </summary>
public sealed class SetPoissonRegressionTrainer : SetTrainerBase
{
    internal SetPoissonRegressionTrainer(IHostEnvironment env, string label, string set, int d, SetModelOptions options)
        : base(env, label, set, d, options) { }
    /// <inheritdoc />
    public override SetTask Task => SetTask.PoissonRegression;
}
