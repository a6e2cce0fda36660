using Microsoft.ML;
using SetML.Models;
using SetML.Training;
using SetML.Transforms;

namespace SetML;

public static partial class SetTransformsCatalog
{
    /// <summary>
    /// A learned Set Transformer featurizer (Lee et al. 2019): trains SAB/ISAB blocks + PMA_k with a head on
    /// <paramref name="labelColumnName"/> (regression for a Single label, classification for a Boolean or key label)
    /// and outputs the encoder's embedding (k·Width values) in <paramref name="outputColumnName"/>.
    /// Without a label, the encoder is trained unsupervised as the encoder of a set auto-encoder (see <see cref="SetFeaturizerEstimator"/>).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on; null = unsupervised (set auto-encoder).</param>
    /// <param name="options">Training and encoder options; <c>options.Encoder</c> may be null or a <see cref="SetTransformerOptions"/>.</param>
    public static SetFeaturizerEstimator SetTransformer(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => Featurizer<SetTransformerOptions>(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The SetTransformer featurizer with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    /// <param name="inducingPoints">
    /// Number m of inducing points: ISAB_m blocks, linear in the set size, instead of SABs, quadratic in it
    /// (<see cref="SetTransformerOptions.UseInducedPoints"/> and <see cref="SetTransformerOptions.InducingPoints"/>).
    /// Null = their default, SAB blocks.
    /// </param>
    /// <param name="seeds"><see cref="SetTransformerOptions.Seeds"/>, the number k of PMA seed vectors (the embedding has k·Width values); null = its default, 1.</param>
    public static SetFeaturizerEstimator SetTransformer(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, int? epochs = null, int? batchSize = null, double? learningRate = null,
        int? inducingPoints = null, int? seeds = null)
    {
        var encoder = new SetTransformerOptions();
        if (inducingPoints is int m) (encoder.UseInducedPoints, encoder.InducingPoints) = (true, m);
        if (seeds is int k) encoder.Seeds = k;
        return catalog.SetTransformer(outputColumnName, inputColumnName, elementDimension, labelColumnName, Simple(epochs, batchSize, learningRate, encoder));
    }
}
