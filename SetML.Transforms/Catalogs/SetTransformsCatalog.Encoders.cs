using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.Training;
using SetML.Transforms;

namespace SetML;

public static partial class SetTransformsCatalog
{
    /// <summary>
    /// A learned Slot Set Encoder featurizer (Andreis et al. 2021): trains ρ(SSE_T(…SSE_1(φ(x)))) with a head on
    /// <paramref name="labelColumnName"/> and outputs the embedding. Mini-batch consistent: the fitted model can also
    /// encode huge sets chunk by chunk (<see cref="StreamingExtensions.CreateStreamingEncoder"/>).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on; null trains it unsupervised, as the encoder of a set auto-encoder.</param>
    /// <param name="options">Training and encoder options; <c>options.Encoder</c> may be null or a <see cref="SlotSetEncoderOptions"/>.</param>
    public static SetFeaturizerEstimator SlotSetEncoder(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => Featurizer<SlotSetEncoderOptions>(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The SlotSetEncoder featurizer with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    /// <param name="slots">Slots K of a one-level encoder (<see cref="SlotSetEncoderOptions.SlotCounts"/> = [slots]); null = its default, one level of 16 slots.</param>
    public static SetFeaturizerEstimator SlotSetEncoder(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, int? epochs = null, int? batchSize = null, double? learningRate = null,
        int? slots = null)
    {
        var encoder = new SlotSetEncoderOptions();
        if (slots is int k) encoder.SlotCounts = [k];
        return catalog.SlotSetEncoder(outputColumnName, inputColumnName, elementDimension, labelColumnName, Simple(epochs, batchSize, learningRate, encoder));
    }

    /// <summary>A learned FSPool featurizer (Zhang et al. 2019): ρ(FSPool(φ(x))). See <c>SlotSetEncoder</c> for the parameters.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on; null trains it unsupervised, as the encoder of a set auto-encoder.</param>
    /// <param name="options">Training and encoder options; <c>options.Encoder</c> may be null or a <see cref="FSPoolOptions"/>.</param>
    public static SetFeaturizerEstimator FSPool(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => Featurizer<FSPoolOptions>(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The FSPool featurizer with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    /// <param name="pieces"><see cref="FSPoolOptions.Pieces"/> of each piecewise-linear weight function; null = its default, 20 (the paper's).</param>
    public static SetFeaturizerEstimator FSPool(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, int? epochs = null, int? batchSize = null, double? learningRate = null,
        int? pieces = null)
    {
        var encoder = new FSPoolOptions();
        if (pieces is int p) encoder.Pieces = p;
        return catalog.FSPool(outputColumnName, inputColumnName, elementDimension, labelColumnName, Simple(epochs, batchSize, learningRate, encoder));
    }

    /// <summary>A learned Janossy-pooling featurizer (Murphy et al. 2019): k-ary or π-SGD. See <c>SlotSetEncoder</c> for the parameters.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on; null trains it unsupervised, as the encoder of a set auto-encoder.</param>
    /// <param name="options">Training and encoder options; <c>options.Encoder</c> may be null or a <see cref="JanossyOptions"/>.</param>
    public static SetFeaturizerEstimator Janossy(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => Featurizer<JanossyOptions>(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The Janossy featurizer with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    /// <param name="mode"><see cref="JanossyOptions.Mode"/>, k-ary or π-SGD; null = its default, π-SGD.</param>
    /// <param name="tupleSize">
    /// <see cref="JanossyOptions.TupleSize"/> k of k-ary pooling (1, 2 or 3); giving it selects k-ary pooling unless
    /// <paramref name="mode"/> says otherwise. Null = its default, 2 (used only in k-ary mode).
    /// </param>
    public static SetFeaturizerEstimator Janossy(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, int? epochs = null, int? batchSize = null, double? learningRate = null,
        JanossyMode? mode = null, int? tupleSize = null)
    {
        var encoder = new JanossyOptions();
        if (tupleSize is int k) (encoder.Mode, encoder.TupleSize) = (JanossyMode.KAry, k);
        if (mode is JanossyMode m) encoder.Mode = m;
        return catalog.Janossy(outputColumnName, inputColumnName, elementDimension, labelColumnName, Simple(epochs, batchSize, learningRate, encoder));
    }

    /// <summary>A learned relation-network featurizer (Santoro et al. 2017): f(Σ_{i,j} g(x_i, x_j)). See <c>SlotSetEncoder</c> for the parameters.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on; null trains it unsupervised, as the encoder of a set auto-encoder.</param>
    /// <param name="options">Training and encoder options; <c>options.Encoder</c> may be null or a <see cref="RelationNetworkOptions"/>.</param>
    public static SetFeaturizerEstimator RelationNetwork(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => Featurizer<RelationNetworkOptions>(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The RelationNetwork featurizer with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    /// <param name="pairPooling"><see cref="RelationNetworkOptions.PairPooling"/>, sum (the paper's) or mean over the n² pairs; null = its default, sum.</param>
    public static SetFeaturizerEstimator RelationNetwork(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, int? epochs = null, int? batchSize = null, double? learningRate = null,
        PoolingKind? pairPooling = null)
    {
        var encoder = new RelationNetworkOptions();
        if (pairPooling is PoolingKind p) encoder.PairPooling = p;
        return catalog.RelationNetwork(outputColumnName, inputColumnName, elementDimension, labelColumnName, Simple(epochs, batchSize, learningRate, encoder));
    }

    /// <summary>
    /// A learned dot-product attention-pooling featurizer (the Set Transformer paper's "rFF + Dotprod" baseline).
    /// See <c>SlotSetEncoder</c> for the parameters.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on; null trains it unsupervised, as the encoder of a set auto-encoder.</param>
    /// <param name="options">Training and encoder options; <c>options.Encoder</c> may be null or a <see cref="AttentionPoolingOptions"/>.</param>
    public static SetFeaturizerEstimator AttentionPooling(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => Featurizer<AttentionPoolingOptions>(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The AttentionPooling featurizer with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    /// <param name="attentionDimension"><see cref="AttentionPoolingOptions.AttentionDimension"/>, the width of keys and query; null = its default, 64.</param>
    public static SetFeaturizerEstimator AttentionPooling(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, int? epochs = null, int? batchSize = null, double? learningRate = null,
        int? attentionDimension = null)
    {
        var encoder = new AttentionPoolingOptions();
        if (attentionDimension is int a) encoder.AttentionDimension = a;
        return catalog.AttentionPooling(outputColumnName, inputColumnName, elementDimension, labelColumnName, Simple(epochs, batchSize, learningRate, encoder));
    }

    /// <summary>
    /// A learned "rFFp + Pooling" featurizer: permutation-equivariant rFFp-mean/rFFp-max layers (Deep Sets eq. 4), pooling
    /// and ρ. See <c>SlotSetEncoder</c> for the parameters.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on; null trains it unsupervised, as the encoder of a set auto-encoder.</param>
    /// <param name="options">Training and encoder options; <c>options.Encoder</c> may be null or a <see cref="EquivariantDeepSetsOptions"/>.</param>
    public static SetFeaturizerEstimator EquivariantDeepSets(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName, SetFeaturizerOptions options)
        => Featurizer<EquivariantDeepSetsOptions>(catalog, outputColumnName, inputColumnName, elementDimension, labelColumnName, options);

    /// <summary>The EquivariantDeepSets featurizer with default options except those given (see the overload with options).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Embedding column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="labelColumnName">Label the encoder is trained on.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    /// <param name="layerPooling"><see cref="EquivariantDeepSetsOptions.LayerPooling"/> inside each rFFp layer, mean (rFFp-mean) or max (rFFp-max); null = its default, max.</param>
    /// <param name="pooling"><see cref="EquivariantDeepSetsOptions.Pooling"/>, the final pooling over elements; null = its default, max.</param>
    public static SetFeaturizerEstimator EquivariantDeepSets(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, string? labelColumnName = null, int? epochs = null, int? batchSize = null, double? learningRate = null,
        PoolingKind? layerPooling = null, PoolingKind? pooling = null)
    {
        var encoder = new EquivariantDeepSetsOptions();
        if (layerPooling is PoolingKind l) encoder.LayerPooling = l;
        if (pooling is PoolingKind p) encoder.Pooling = p;
        return catalog.EquivariantDeepSets(outputColumnName, inputColumnName, elementDimension, labelColumnName, Simple(epochs, batchSize, learningRate, encoder));
    }

    /// <summary>
    /// A non-learned set featurizer: per-feature sum/mean/max/min and the element count of each set, concatenated in the
    /// order given into one fixed-size vector (d values per feature statistic, 1 for the count; slot names like
    /// <c>Max[2]</c>). Empty sets give 0 for every statistic. Saved and loaded like any SetML model.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Vector column to create.</param>
    /// <param name="inputColumnName">Set column (n·d Singles per row).</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    /// <param name="kinds">The statistics, in output order (default: mean).</param>
    public static SetPoolingEstimator SetPooling(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        int elementDimension, params SetPoolingKind[] kinds)
        => new(GetEnvironment(catalog), outputColumnName, inputColumnName, elementDimension, kinds);

    /// <summary>
    /// Set-aware standardization: each feature of the set elements becomes (x − mean)/sd, with the mean and standard
    /// deviation of that feature over all real elements of all sets seen by <c>Fit</c> (empty sets contribute nothing).
    /// ML.NET's normalizers work per slot, which is meaningless for a set column. The statistics are saved with the model.
    /// SetML's own trainers and featurizers standardize inside already (<c>options.NormalizeSetElements</c>); this transform
    /// is for other components, or to share one standardization between several.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Set column to create (annotated with the element dimension).</param>
    /// <param name="inputColumnName">Set column to standardize (n·d Singles per row); null = <paramref name="outputColumnName"/>.</param>
    /// <param name="elementDimension">Element dimension d of the set column.</param>
    public static SetNormalizationEstimator NormalizeSetElements(this TransformsCatalog catalog, string outputColumnName, string? inputColumnName,
        int elementDimension)
        => new(GetEnvironment(catalog), outputColumnName, inputColumnName, elementDimension);
}
