using Microsoft.ML;
using SetML.Models;
using SetML.Persistence;
using SetML.Trainers;
using SetML.Training;

namespace SetML;

/// <summary>
/// SetML trainers in ML.NET's catalogs. Each task has a generic method taking any encoder in its options
/// (<c>SetRegression</c>, <c>SetClassification</c>, <c>SetPoissonRegression</c>) and shortcuts named after an encoder
/// (<c>DeepSets</c>, <c>SetTransformer</c>) that fix the encoder type.
/// </summary>
/// <remarks>
/// As in ML.NET, every trainer has two overloads: one with simple arguments (<c>epochs</c>, <c>batchSize</c>,
/// <c>learningRate</c>; null keeps the options class's default) and one taking the full options class. The columns and
/// the element dimension d are parameters of both and have no default: d must always be said, because a wrong d
/// reads every set with the wrong elements (2-D points read as 1-D numbers would still train, silently badly).
/// </remarks>
public static partial class SetTrainersCatalog
{
    /// <summary>Set regression with any encoder (Deep Sets when <c>options.Encoder</c> is null). Output: <c>Score</c>.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="setColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetRegressionTrainer SetRegression(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, SetRegressionOptions options)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension, SimpleArguments.AnyEncoder(options));

    /// <summary>Set regression with a Deep Sets encoder and default options except those given. Output: <c>Score</c>.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="setColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public static SetRegressionTrainer SetRegression(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => catalog.SetRegression(labelColumnName, setColumnName, elementDimension, SimpleArguments.Options<SetRegressionOptions>(epochs, batchSize, learningRate));

    /// <summary>Deep Sets regression: ρ(pool φ(x)) + head, trained on a Single label. Output: <c>Score</c>.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="setColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training options; <c>options.Encoder</c> null or a <see cref="DeepSetsOptions"/>.</param>
    public static SetRegressionTrainer DeepSets(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, SetRegressionOptions options)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension, SimpleArguments.Encoder<SetRegressionOptions, DeepSetsOptions>(options));

    /// <summary>Deep Sets regression with default options except those given. Output: <c>Score</c>.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="setColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public static SetRegressionTrainer DeepSets(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => catalog.DeepSets(labelColumnName, setColumnName, elementDimension, SimpleArguments.Options<SetRegressionOptions>(epochs, batchSize, learningRate));

    /// <summary>Poisson count regression on sets (Score = λ, PredictedCount = ⌊λ⌋). Any encoder; Deep Sets when null.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Count label column (Single ≥ 0).</param>
    /// <param name="setColumnName">Set column.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetPoissonRegressionTrainer SetPoissonRegression(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, SetModelOptions options)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension, SimpleArguments.AnyEncoder(options));

    /// <summary>Poisson count regression with a Deep Sets encoder and default options except those given.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Count label column (Single ≥ 0).</param>
    /// <param name="setColumnName">Set column.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public static SetPoissonRegressionTrainer SetPoissonRegression(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => catalog.SetPoissonRegression(labelColumnName, setColumnName, elementDimension, SimpleArguments.Options<SetModelOptions>(epochs, batchSize, learningRate));

    /// <summary>Binary set classification with any encoder (Boolean label). Outputs: <c>Score</c>, <c>Probability</c>, <c>PredictedLabel</c>.</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="setColumnName">Set column.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetBinaryClassificationTrainer SetClassification(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, SetModelOptions options)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension, SimpleArguments.AnyEncoder(options));

    /// <summary>Binary set classification with a Deep Sets encoder and default options except those given.</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="setColumnName">Set column.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public static SetBinaryClassificationTrainer SetClassification(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => catalog.SetClassification(labelColumnName, setColumnName, elementDimension, SimpleArguments.Options<SetModelOptions>(epochs, batchSize, learningRate));

    /// <summary>Multiclass set classification with any encoder (key label). Outputs: <c>Score</c>, <c>PredictedLabel</c>.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="labelColumnName">Key label column (use <c>MapValueToKey</c>).</param>
    /// <param name="setColumnName">Set column.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetMulticlassClassificationTrainer SetClassification(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, SetModelOptions options)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension, SimpleArguments.AnyEncoder(options));

    /// <summary>Multiclass set classification with a Deep Sets encoder and default options except those given.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="labelColumnName">Key label column (use <c>MapValueToKey</c>).</param>
    /// <param name="setColumnName">Set column.</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public static SetMulticlassClassificationTrainer SetClassification(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => catalog.SetClassification(labelColumnName, setColumnName, elementDimension, SimpleArguments.Options<SetModelOptions>(epochs, batchSize, learningRate));
}
