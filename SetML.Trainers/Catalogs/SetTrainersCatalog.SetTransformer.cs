using Microsoft.ML;
using SetML.Models;
using SetML.Persistence;
using SetML.Trainers;
using SetML.Training;

namespace SetML;

public static partial class SetTrainersCatalog
{
    /// <summary>Set Transformer regression (SAB/ISAB stack + PMA_k + head), trained on a Single label. Output: <c>Score</c>.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="setColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="options">Training options; <c>options.Encoder</c> null or a <see cref="SetTransformerOptions"/>.</param>
    public static SetRegressionTrainer SetTransformer(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, SetRegressionOptions options)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension, SimpleArguments.Encoder<SetRegressionOptions, SetTransformerOptions>(options));

    /// <summary>Set Transformer regression with default options except those given. Output: <c>Score</c>.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="setColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public static SetRegressionTrainer SetTransformer(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => catalog.SetTransformer(labelColumnName, setColumnName, elementDimension, SimpleArguments.Options<SetRegressionOptions>(epochs, batchSize, learningRate));

    /// <summary>
    /// Set → set regression: a permutation-equivariant SAB/ISAB stack with a per-element linear output. The label is a set
    /// column with <paramref name="labelElementDimension"/> targets per element (same order as the input set).
    /// Output: <c>Score</c>, a set column of <paramref name="labelElementDimension"/> values per element.
    /// </summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Per-element target set column.</param>
    /// <param name="setColumnName">Input set column.</param>
    /// <param name="elementDimension">Element dimension d of the input.</param>
    /// <param name="labelElementDimension">Targets per element.</param>
    /// <param name="options">Training options and the attention stack (<see cref="SetToSetOptions.Layers"/>).</param>
    public static SetToSetTrainer SetToSetRegression(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int labelElementDimension, SetToSetOptions options)
        => new(MLNetInternals.GetEnvironment(catalog), SetToSetTask.Regression, labelColumnName, setColumnName, elementDimension,
            labelElementDimension, SimpleArguments.Required(options));

    /// <summary>Set → set regression with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Per-element target set column.</param>
    /// <param name="setColumnName">Input set column.</param>
    /// <param name="elementDimension">Element dimension d of the input.</param>
    /// <param name="labelElementDimension">Targets per element.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public static SetToSetTrainer SetToSetRegression(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int labelElementDimension,
        int? epochs = null, int? batchSize = null, double? learningRate = null)
        => catalog.SetToSetRegression(labelColumnName, setColumnName, elementDimension, labelElementDimension,
            SimpleArguments.Options<SetToSetOptions>(epochs, batchSize, learningRate));

    /// <summary>
    /// Set → set classification: one of <paramref name="classCount"/> classes per element. The label is a set column
    /// with one 0-based class index (as Single) per element. Outputs: <c>Score</c> (class probabilities per element, a set
    /// column of dimension <paramref name="classCount"/>) and <c>PredictedLabel</c> (one class index per element).
    /// </summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Per-element class set column (element dimension 1).</param>
    /// <param name="setColumnName">Input set column.</param>
    /// <param name="elementDimension">Element dimension d of the input.</param>
    /// <param name="classCount">Number of classes K.</param>
    /// <param name="options">Training options and the attention stack (<see cref="SetToSetOptions.Layers"/>).</param>
    public static SetToSetTrainer SetToSetClassification(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int classCount, SetToSetOptions options)
        => new(MLNetInternals.GetEnvironment(catalog), SetToSetTask.Classification, labelColumnName, setColumnName, elementDimension,
            classCount, SimpleArguments.Required(options));

    /// <summary>Set → set classification with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Per-element class set column (element dimension 1).</param>
    /// <param name="setColumnName">Input set column.</param>
    /// <param name="elementDimension">Element dimension d of the input.</param>
    /// <param name="classCount">Number of classes K.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public static SetToSetTrainer SetToSetClassification(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName, string setColumnName, int elementDimension, int classCount,
        int? epochs = null, int? batchSize = null, double? learningRate = null)
        => catalog.SetToSetClassification(labelColumnName, setColumnName, elementDimension, classCount,
            SimpleArguments.Options<SetToSetOptions>(epochs, batchSize, learningRate));

    /// <summary>
    /// Amortized clustering (Set Transformer sec. 5.3): each row's set of points → a k-component Gaussian mixture in one
    /// forward pass, trained to maximise the mixture log-likelihood (eq. 18). Default network: ISAB_16(128, 4) × 2,
    /// PMA_k, SAB, per-component linear output (<see cref="AmortizedMixtureOptions.PaperEncoder"/>); any encoder works
    /// through <c>options.Encoder</c>. Outputs: <c>PredictedClusters</c> (component per point), <c>MixtureWeights</c>,
    /// <c>MixtureMeans</c>, <c>MixtureVariances</c>. Evaluate with <see cref="EvaluateAmortizedMixture"/>.
    /// </summary>
    /// <param name="catalog">The clustering trainers catalog.</param>
    /// <param name="setColumnName">Set column of points (n·d Singles per row).</param>
    /// <param name="elementDimension">Point dimension d.</param>
    /// <param name="options">Options (components, encoder, training).</param>
    public static AmortizedMixtureTrainer AmortizedMixture(this ClusteringCatalog.ClusteringTrainers catalog,
        string setColumnName, int elementDimension, AmortizedMixtureOptions options)
        => new(MLNetInternals.GetEnvironment(catalog), setColumnName, elementDimension, SimpleArguments.Required(options));

    /// <summary>Amortized clustering with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The clustering trainers catalog.</param>
    /// <param name="setColumnName">Set column of points (n·d Singles per row).</param>
    /// <param name="elementDimension">Point dimension d.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = the options' default (1: the paper trains on a stream of fresh sets).</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default (10).</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public static AmortizedMixtureTrainer AmortizedMixture(this ClusteringCatalog.ClusteringTrainers catalog,
        string setColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => catalog.AmortizedMixture(setColumnName, elementDimension, SimpleArguments.Options<AmortizedMixtureOptions>(epochs, batchSize, learningRate));

    /// <summary>
    /// LL0/data and LL1/data (after one EM step) of amortized mixture predictions, as in the Set Transformer's Table 2.
    /// </summary>
    /// <param name="catalog">The clustering catalog.</param>
    /// <param name="predictions">The output of the amortized mixture model's Transform.</param>
    /// <param name="setColumnName">Set column of points.</param>
    /// <param name="elementDimension">Point dimension d.</param>
    public static AmortizedMixtureMetrics EvaluateAmortizedMixture(this ClusteringCatalog catalog, IDataView predictions,
        string setColumnName, int elementDimension)
        => AmortizedMixtureEvaluator.Evaluate(predictions, setColumnName, elementDimension);
}
