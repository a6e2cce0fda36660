using Microsoft.ML;
using SetML.Models;
using SetML.Persistence;
using SetML.Trainers;
using SetML.Training;

namespace SetML;

/// <summary>
/// SetML trainers in ML.NET's catalogs. Each task has a generic method taking any encoder in its options
/// (<c>SetRegression</c>, <c>SetBinaryClassification</c>, <c>SetMulticlassClassification</c>, <c>SetPoissonRegression</c>)
/// and shortcuts named after an encoder (<c>DeepSets</c>, …) that fix the encoder type.
/// </summary>
public static partial class SetTrainersCatalog
{
    /// <summary>Set regression with any encoder (Deep Sets when <c>options.Encoder</c> is null). Output: <c>Score</c>.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="setColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetRegressionTrainer SetRegression(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = "Label", string setColumnName = "Set", int elementDimension = 1, SetRegressionOptions? options = null)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension,
            (options ?? new SetRegressionOptions()).WithEncoder<SetRegressionOptions, SetEncoderOptions>(new DeepSetsOptions(), nameof(SetRegression)));

    /// <summary>Deep Sets regression: ρ(pool φ(x)) + head, trained on a Single label. Output: <c>Score</c>.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="setColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training options; <c>options.Encoder</c> null or a <see cref="DeepSetsOptions"/>.</param>
    public static SetRegressionTrainer DeepSets(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = "Label", string setColumnName = "Set", int elementDimension = 1, SetRegressionOptions? options = null)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension,
            (options ?? new SetRegressionOptions()).WithEncoder<SetRegressionOptions, DeepSetsOptions>(new DeepSetsOptions(), nameof(DeepSets)));

    /// <summary>Poisson count regression on sets (Score = λ, PredictedCount = ⌊λ⌋). Any encoder; Deep Sets when null.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Count label column (Single ≥ 0).</param>
    /// <param name="setColumnName">Set column.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetPoissonRegressionTrainer SetPoissonRegression(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = "Label", string setColumnName = "Set", int elementDimension = 1, SetModelOptions? options = null)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension,
            (options ?? new SetModelOptions()).WithEncoder<SetModelOptions, SetEncoderOptions>(new DeepSetsOptions(), nameof(SetPoissonRegression)));

    /// <summary>Binary set classification with any encoder (Boolean label). Outputs: <c>Score</c>, <c>Probability</c>, <c>PredictedLabel</c>.</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="setColumnName">Set column.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetBinaryClassificationTrainer SetClassification(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = "Label", string setColumnName = "Set", int elementDimension = 1, SetModelOptions? options = null)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension,
            (options ?? new SetModelOptions()).WithEncoder<SetModelOptions, SetEncoderOptions>(new DeepSetsOptions(), nameof(SetClassification)));

    /// <summary>Multiclass set classification with any encoder (key label). Outputs: <c>Score</c>, <c>PredictedLabel</c>.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="labelColumnName">Key label column (use <c>MapValueToKey</c>).</param>
    /// <param name="setColumnName">Set column.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetMulticlassClassificationTrainer SetClassification(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string setColumnName = "Set", int elementDimension = 1, SetModelOptions? options = null)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension,
            (options ?? new SetModelOptions()).WithEncoder<SetModelOptions, SetEncoderOptions>(new DeepSetsOptions(), nameof(SetClassification)));
}
