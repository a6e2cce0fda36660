using Microsoft.ML;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Training;
using SetML.Transforms;

namespace SetML;

/// <summary>
/// SetML's transforms on <c>mlContext.Transforms</c>. Learned featurizers are one method per encoder
/// (<c>DeepSets</c>, <c>SetTransformer</c>, …) plus <see cref="SetEncoder"/>, which takes any encoder in its options.
/// </summary>
public static partial class SetTransformsCatalog
{
    /// <summary>
    /// A learned Deep Sets featurizer: trains ρ(pool φ(x)) with a head on <paramref name="labelColumnName"/>
    /// (regression for a Single label, classification for a Boolean or key label; see <see cref="SetFeaturizerOptions.Task"/>)
    /// and outputs the encoder's embedding in <paramref name="outputColumnName"/> (a vector of Single).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on (required).</param>
    /// <param name="options">Training and encoder options; <c>options.Encoder</c> may be null or a <see cref="DeepSetsOptions"/>.</param>
    public static SetFeaturizerEstimator DeepSets(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, SetFeaturizerOptions? options = null)
        => Featurizer(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName,
            (options ?? new SetFeaturizerOptions()).WithEncoder<SetFeaturizerOptions, DeepSetsOptions>(new DeepSetsOptions(), nameof(DeepSets)));

    /// <summary>
    /// A learned set featurizer with any encoder (<c>options.Encoder</c>; Deep Sets when null). See <see cref="DeepSets"/>.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on (required).</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetFeaturizerEstimator SetEncoder(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, SetFeaturizerOptions? options = null)
        => Featurizer(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName,
            (options ?? new SetFeaturizerOptions()).WithEncoder<SetFeaturizerOptions, SetEncoderOptions>(new DeepSetsOptions(), nameof(SetEncoder)));

    internal static SetFeaturizerEstimator Featurizer(TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => new(GetEnvironment(catalog), outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The host environment behind any ML.NET catalog (the MLContext).</summary>
    internal static IHostEnvironment GetEnvironment(object catalog) => Persistence.MLNetInternals.GetEnvironment(catalog);
}
