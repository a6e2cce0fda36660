using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Modules;
using SetML.Training;
using SetML.Transforms;

namespace SetML;

/// <summary>
/// SetML's transforms on <c>mlContext.Transforms</c>. Learned featurizers are one method per encoder
/// (<c>DeepSets</c>, <c>SetTransformer</c>, …) plus <c>SetEncoder</c>, which takes any encoder in its options.
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
    /// <param name="labelColumnName">Label the encoder is trained on; null trains it unsupervised, as the encoder of a set auto-encoder.</param>
    /// <param name="options">Training and encoder options; <c>options.Encoder</c> may be null or a <see cref="DeepSetsOptions"/>.</param>
    public static SetFeaturizerEstimator DeepSets(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => Featurizer<DeepSetsOptions>(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The DeepSets featurizer with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    /// <param name="pooling"><see cref="DeepSetsOptions.Pooling"/> (sum, mean, max or min over the elements); null = its default, sum.</param>
    public static SetFeaturizerEstimator DeepSets(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, int? epochs = null, int? batchSize = null, double? learningRate = null,
        PoolingKind? pooling = null)
    {
        var encoder = new DeepSetsOptions();
        if (pooling is PoolingKind p) encoder.Pooling = p;
        return catalog.DeepSets(outputColumnName, inputColumnName, elementDimension, labelColumnName, Simple(epochs, batchSize, learningRate, encoder));
    }

    /// <summary>
    /// A learned set featurizer with any encoder (<c>options.Encoder</c>; Deep Sets when null). See <c>DeepSets</c>.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on; null trains it unsupervised, as the encoder of a set auto-encoder.</param>
    /// <param name="options">Training and encoder options.</param>
    public static SetFeaturizerEstimator SetEncoder(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => Featurizer(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName, SimpleArguments.AnyEncoder(options));

    /// <summary>The SetEncoder featurizer with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    /// <param name="encoder">The encoder and its options (<see cref="SetModelOptions.Encoder"/>); null = Deep Sets with its defaults.</param>
    public static SetFeaturizerEstimator SetEncoder(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, int? epochs = null, int? batchSize = null, double? learningRate = null,
        SetEncoderOptions? encoder = null)
        => catalog.SetEncoder(outputColumnName, inputColumnName, elementDimension, labelColumnName, Simple(epochs, batchSize, learningRate, encoder));

    /// <summary>
    /// The featurizer of an <c>Options</c> overload named after an encoder (<paramref name="method"/>): a new
    /// <typeparamref name="TEncoder"/> when <c>options.Encoder</c> is null, another encoder type is an error.
    /// </summary>
    internal static SetFeaturizerEstimator Featurizer<TEncoder>(TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options, [CallerMemberName] string method = "")
        where TEncoder : SetEncoderOptions, new()
        => Featurizer(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName,
            SimpleArguments.Encoder<SetFeaturizerOptions, TEncoder>(options, method));

    /// <summary>
    /// The options of a simple-arguments featurizer overload (null = the default of <see cref="SetTrainingOptions"/>) with
    /// <paramref name="encoder"/>, which that overload has built from its encoder arguments.
    /// </summary>
    private static SetFeaturizerOptions Simple(int? epochs, int? batchSize, double? learningRate, SetEncoderOptions? encoder)
    {
        var options = SimpleArguments.Options<SetFeaturizerOptions>(epochs, batchSize, learningRate);
        options.Encoder = encoder;
        return options;
    }

    internal static SetFeaturizerEstimator Featurizer(TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => new(GetEnvironment(catalog), outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The host environment behind any ML.NET catalog (the MLContext).</summary>
    internal static IHostEnvironment GetEnvironment(object catalog) => Persistence.MLNetInternals.GetEnvironment(catalog);
}
