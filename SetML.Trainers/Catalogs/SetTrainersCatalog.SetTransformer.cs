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
        string labelColumnName = "Label", string setColumnName = "Set", int elementDimension = 1, SetRegressionOptions? options = null)
        => new(MLNetInternals.GetEnvironment(catalog), labelColumnName, setColumnName, elementDimension,
            (options ?? new SetRegressionOptions()).WithEncoder<SetRegressionOptions, SetTransformerOptions>(new SetTransformerOptions(), "SetTransformer"));

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
        string labelColumnName = "Label", string setColumnName = "Set", int elementDimension = 1, int labelElementDimension = 1, SetToSetOptions? options = null)
        => new(MLNetInternals.GetEnvironment(catalog), SetToSetTask.Regression, labelColumnName, setColumnName, elementDimension,
            labelElementDimension, options ?? new SetToSetOptions());

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
        string labelColumnName = "Label", string setColumnName = "Set", int elementDimension = 1, int classCount = 2, SetToSetOptions? options = null)
        => new(MLNetInternals.GetEnvironment(catalog), SetToSetTask.Classification, labelColumnName, setColumnName, elementDimension,
            classCount, options ?? new SetToSetOptions());

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
        string setColumnName = "Set", int elementDimension = 2, AmortizedMixtureOptions? options = null)
        => new(MLNetInternals.GetEnvironment(catalog), setColumnName, elementDimension, options ?? new AmortizedMixtureOptions());

    /// <summary>
    /// LL0/data and LL1/data (after one EM step) of amortized mixture predictions, as in the Set Transformer's Table 2.
    /// </summary>
    /// <param name="catalog">The clustering catalog.</param>
    /// <param name="predictions">The output of the amortized mixture model's Transform.</param>
    /// <param name="setColumnName">Set column of points.</param>
    /// <param name="elementDimension">Point dimension d.</param>
    public static AmortizedMixtureMetrics EvaluateAmortizedMixture(this ClusteringCatalog catalog, IDataView predictions,
        string setColumnName = "Set", int elementDimension = 2)
        => AmortizedMixtureEvaluator.Evaluate(predictions, setColumnName, elementDimension);
}
