using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Losses;
using SetML.Models;
using SetML.Modules;
using SetML.Modules.SetPrediction;
using SetML.SetColumns;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Transforms;

/// <summary>
/// The rows of a set-prediction task (feature → target set) and what its two trainers share: the set loss of a batch,
/// the checks of the decoder's N slots against the memory budget, and of the label sets against N.
/// </summary>
internal sealed class SetPredictionRows
{
    public List<float[]> Features { get; } = new();
    public List<float[]> Targets { get; set; } = new();

    /// <summary>The set loss of <paramref name="network"/> on the given rows (features through <paramref name="input"/>).</summary>
    public Tensor Loss(SetPredictionNetwork network, ModelInput input, int d, SetLossKind loss, PairwiseCost cost, Device device, int[] rows)
    {
        var (target, targetMask) = SetBatch.Pad(rows.Select(i => Targets[i]).ToList(), d, device);
        using var batch = new ModelInputBatch(new[] { input }, new[] { (IReadOnlyList<float[]>)rows.Select(i => Features[i]).ToList() }, device);
        return network.Loss(batch.X[0], batch.Mask[0], target, targetMask, loss, cost);
    }

    /// <summary>
    /// Memory before anything is allocated: the decoder's N slots alone (<see cref="CheckSlots"/>), then each set input,
    /// largest first (when the N slots come from the largest set, that set is the one to name); then every target set
    /// against N.
    /// </summary>
    public void Check(MemoryGuard guard, SetPredictionModelSpec memorySpec, ModelInput input, string labelColumn, int maximumSetSize,
        int[] train, int[] valid, bool validationData)
    {
        var trainingData = validationData ? train : train.Concat(valid).OrderBy(r => r).ToArray();
        CheckSlots(guard, memorySpec, labelColumn, trainingData, maximumSetSize);
        CheckLargestFirst(guard, input, trainingData, 0, "");
        if (validationData) CheckLargestFirst(guard, input, valid, train.Length, " of the validation data");
        foreach (var row in train.Concat(valid))
            if (Targets[row].Length / memorySpec.ElementDimension > memorySpec.MaximumSetSize)
                throw new SetColumnException(labelColumn, validationData && row >= train.Length ? row - train.Length : row, SetRule.MaximumSize,
                    $"the label set has {Targets[row].Length / memorySpec.ElementDimension} elements, more than the model's maximum set size {memorySpec.MaximumSetSize} (raise MaximumSetSize)");
    }

    private void CheckLargestFirst(MemoryGuard guard, ModelInput input, int[] rows, int first, string where)
    {
        if (input.Kind != ModelInputKind.Set) return;
        var order = rows.OrderByDescending(r => Features[r].Length).ToArray();
        guard.CheckRows(order.Length, k => new[] { (long)(Features[order[k]].Length / input.ElementDimension) }, k => order[k] - first, where);
    }

    // The decoder's N slots alone (N = MaximumSetSize, or the largest label set) must fit the budget.
    private void CheckSlots(MemoryGuard guard, SetPredictionModelSpec spec, string labelColumn, int[] rows, int maximumSetSize)
    {
        double bytes = guard.Bytes(1, new[] { 0L });
        if (bytes <= guard.Budget) return;
        string detail = $"a model with N = {spec.MaximumSetSize} slots would need about {MemoryBudget.Format(bytes)} per training set, more than the memory budget " +
                        $"of {MemoryBudget.Format(guard.Budget)} (its set loss compares N predictions with up to N targets, quadratic in N). Nothing was allocated. ";
        if (maximumSetSize > 0)
            throw new ArgumentOutOfRangeException("MaximumSetSize", maximumSetSize, "MaximumSetSize is too large for the memory budget: " + detail + "Lower MaximumSetSize or raise MemoryBudgetBytes.");
        int row = rows.MaxBy(r => Targets[r].Length);
        throw new SetColumnException(labelColumn, row, SetRule.MemoryBudget,
            $"the label set has {Targets[row].Length / spec.ElementDimension} elements, which makes N = {spec.MaximumSetSize}: " + detail +
            "Set MaximumSetSize to the largest set the model should predict (larger label sets are then refused), raise MemoryBudgetBytes, or remove the row");
    }

    /// <summary>N: the options' maximum set size, or the largest set of <paramref name="sets"/>.</summary>
    public static int Slots(int maximumSetSize, IEnumerable<float[]> sets, int d) => maximumSetSize > 0 ? maximumSetSize : Math.Max(1, sets.Max(s => s.Length / d));
}

/// <summary>
/// Trains a <see cref="SetPredictionModelSpec"/>: predicts the set column <c>Label</c> from a feature vector or from a
/// set (auto-encoding when the feature column is the label column). Behind DSPN, the transformer set predictor and the
/// MLP set decoder trainers.
/// </summary>
internal sealed class SetPredictionModelTrainer : SetModelTrainer<SetPredictionModelSpec, SetPredictionNetwork>
{
    private readonly SetPredictionOptions _options;
    private readonly string _featureColumn, _labelColumn;
    private readonly int _d;
    private readonly SetDecoderOptions _defaultDecoder;
    private readonly SetPredictionRows _rows = new();
    private ModelInput _labelInput = null!, _featureInput = null!;
    private SetLossKind _loss;

    public SetPredictionModelTrainer(IHostEnvironment env, SetPredictionOptions options, string featureColumn, string labelColumn, int elementDimension,
        SetDecoderOptions defaultDecoder) : base(env, options)
    {
        _options = options; _featureColumn = featureColumn; _labelColumn = labelColumn; _d = elementDimension; _defaultDecoder = defaultDecoder;
    }

    private bool AutoEncoder => _featureColumn == _labelColumn;

    protected override SetPredictionModelSpec CreateSpec(DataViewSchema schema)
    {
        var spec = Describe();
        spec.Decoder.Validate();
        SetColumn.ValidateSchema(schema, _labelColumn, _d);
        _labelInput = SetInput(_labelColumn, _d, _options.AllowEmptySets, _options.MaximumSetSize);
        spec.Inputs.Add(_featureInput = DescribeFeatures(schema, _featureColumn, _labelColumn, _d, _options.AllowEmptySets));
        return spec;
    }

    /// <summary>
    /// The model before training, without its input (no data needed): also what the estimator's output schema is derived
    /// from. N, the set encoder and the latent size depend on the label sets: completed when the training rows are read.
    /// </summary>
    internal SetPredictionModelSpec Describe() => new() { Decoder = SpecJson.Clone(_options.Decoder ?? _defaultDecoder), ElementDimension = _d };

    protected override string Title(SetPredictionModelSpec spec) => $"Training {spec.Decoder.GetType().Name.Replace("Options", "")} set predictor";

    protected override int ReadRows(IChannel ch, IDataView data, SetPredictionModelSpec spec, string what)
    {
        var input = spec.Inputs[0];
        if (what != "training") SetColumn.ValidateSchema(data.Schema, _labelColumn, _d);
        var labels = SetDataReader.ReadInput(data, _labelInput);
        var features = AutoEncoder ? labels : SetDataReader.ReadInput(data, input);
        if (what == "training" && labels.Count > 0) Complete(ch, spec, labels, features);
        _rows.Targets.AddRange(labels);
        _rows.Features.AddRange(features);
        return labels.Count;
    }

    private void Complete(IChannel ch, SetPredictionModelSpec spec, List<float[]> labels, List<float[]> features)
    {
        var input = spec.Inputs[0];
        if (input.Kind == ModelInputKind.Vector && input.VectorSize == 0) input.VectorSize = features[0].Length;
        int slots = SetPredictionRows.Slots(_options.MaximumSetSize, labels, _d);
        // An auto-encoder reconstructs its input, so an input set larger than the N slots is rejected at prediction too.
        if (AutoEncoder) input.Rules.MaximumSetSize = slots;
        var setEncoder = _options.SetEncoder is null ? null : SpecJson.Clone(_options.SetEncoder);
        if (input.Kind == ModelInputKind.Set && setEncoder is null && spec.Decoder is not DspnOptions)
            setEncoder = new RelaxedDeepSetsOptions { EmbeddingDimension = spec.Decoder.LatentDimension, Slots = slots };
        if (setEncoder is RelaxedDeepSetsOptions { Slots: <= 1 } r) r.Slots = slots;
        spec.InputEncoder = input.Kind == ModelInputKind.Vector ? SpecJson.Clone(_options.InputEncoder ?? new MlpInputEncoderOptions()) : null;
        spec.SetEncoder = setEncoder;
        spec.MaximumSetSize = slots;
        spec.LatentDimension = input.Kind == ModelInputKind.Set && setEncoder != null ? setEncoder.CreateEmbeddingDimension(input.ElementDimension) : spec.Decoder.LatentDimension;
        _loss = _options.ResolveLoss(slots);
        ch.Info($"Up to {slots} elements of dimension {_d}, loss {_loss}.");
    }

    /// <summary>
    /// Standardizes the label sets (statistics of the training rows' label elements, applied to every row) when
    /// <see cref="SetPredictionOptions.NormalizeLabelSets"/> is on and the model is not an auto-encoder.
    /// </summary>
    protected override void Prepare(IChannel ch, SetPredictionModelSpec spec, int[] trainingRows)
    {
        if (!_options.NormalizeLabelSets || AutoEncoder) return;
        var n = SetElementNormalization.Compute(trainingRows.Select(i => _rows.Targets[i]).ToList(), _d);
        spec.LabelNormalization = n;
        _rows.Targets = _rows.Targets.Select(n.Apply).ToList();
        ch.Info($"Label sets standardized: mean [{string.Join(", ", n.Mean.Select(v => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)))}], " +
                $"scale [{string.Join(", ", n.Scale.Select(v => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)))}].");
    }

    protected override Func<int, int>? SetSize
        => _featureInput.Kind == ModelInputKind.Set ? i => _rows.Features[i].Length / _featureInput.ElementDimension : null;

    protected override void CheckMemory(MemoryGuard guard, SetPredictionModelSpec spec, int[] train, int[] valid, bool validationData)
        => _rows.Check(guard, spec, spec.Inputs[0], _labelColumn, _options.MaximumSetSize, train, valid, validationData);

    // DSPN's inner loop needs gradients, so the validation loss is computed with them (and then dropped).
    protected override bool ValidationNeedsGradients => true;

    protected override Tensor BatchLoss(SetPredictionNetwork network, Device device, int[] rows)
        => _rows.Loss(network, _featureInput, _d, _loss, _options.PairwiseCost, device, rows);

    /// <summary>Describes the feature column: a set (annotated, or the label column itself) or a fixed-size vector.</summary>
    internal static ModelInput DescribeFeatures(DataViewSchema schema, string featureColumn, string labelColumn, int d, bool allowEmpty)
    {
        var col = schema.GetColumnOrNull(featureColumn)
            ?? throw new SetColumnException(featureColumn, null, SetRule.ColumnExists, "the feature column was not found in the input schema");
        var setDim = featureColumn == labelColumn ? d : SetColumn.GetElementDimension(col);
        if (setDim is int sd)
        {
            SetColumn.ValidateSchema(schema, featureColumn, sd);
            return SetInput(featureColumn, sd, allowEmpty, 0);
        }
        if (col.Type is not VectorDataViewType vt || vt.ItemType != NumberDataViewType.Single)
            throw new SetColumnException(featureColumn, null, SetRule.ColumnType,
                $"the features of a set predictor must be a vector of Single (or a set column with the {SetColumn.ElementDimensionAnnotation} annotation), but the column has type {col.Type}");
        return new ModelInput { ColumnName = featureColumn, Kind = ModelInputKind.Vector, ElementDimension = 0, VectorSize = vt.IsKnownSize ? vt.Size : 0 };
    }
}

/// <summary>
/// Unsupervised set featurizer: trains the featurizer's encoder as the encoder of a set auto-encoder (decoder from
/// <see cref="SetAutoEncoderFeaturizerOptions.Decoder"/>, DSPN by default) and keeps only the encoder (with an unused
/// head, so the saved model is an ordinary <see cref="EncoderModelSpec"/> featurizer).
/// </summary>
internal sealed class AutoEncoderFeaturizerTrainer : SetModelTrainer<EncoderModelSpec, EncoderHeadNetwork>
{
    private readonly SetFeaturizerOptions _options;
    private readonly string _setColumn, _outputColumn;
    private readonly int _d;
    private readonly SetDecoderOptions _decoderOptions;
    private readonly SetPredictionRows _rows = new();
    private SetPredictionModelSpec _autoEncoderSpec = null!;
    private SetLossKind _loss;
    private SetPredictionNetwork? _autoEncoder;

    public AutoEncoderFeaturizerTrainer(IHostEnvironment env, SetFeaturizerOptions options, string setColumn, int elementDimension, string outputColumn)
        : base(env, options)
    {
        _options = options; _setColumn = setColumn; _d = elementDimension; _outputColumn = outputColumn;
        _decoderOptions = SpecJson.Clone((options as SetAutoEncoderFeaturizerOptions)?.Decoder ?? new DspnOptions());
    }

    protected override EncoderModelSpec CreateSpec(DataViewSchema schema)
    {
        _decoderOptions.Validate();
        SetColumn.ValidateSchema(schema, _setColumn, _d);
        return Describe();
    }

    /// <summary>The kept model before training (no data needed): also what the featurizer's output schema is derived from.</summary>
    /// <remarks>Its head is never trained, so it is saved without dropout.</remarks>
    internal EncoderModelSpec Describe() => EncoderModelTrainer.Describe(_options, _setColumn, _d, SetTask.Regression, _outputColumn, dropout: 0);

    protected override string Title(EncoderModelSpec spec)
        => $"Training a set auto-encoder featurizer ({_decoderOptions.GetType().Name.Replace("Options", "")} decoder)";

    protected override int ReadRows(IChannel ch, IDataView data, EncoderModelSpec spec, string what)
    {
        var input = spec.Inputs[0];
        if (what != "training") SetColumn.ValidateSchema(data.Schema, _setColumn, _d);
        var sets = SetDataReader.ReadInput(data, input);
        if (what == "training" && sets.Count > 0)
        {
            int slots = SetPredictionRows.Slots(_options.MaximumSetSize, sets, _d);
            // Memory of a training step of the whole auto-encoder (encoder on the set, decoder on N = slots).
            _autoEncoderSpec = new SetPredictionModelSpec
            {
                Inputs = { input }, Decoder = _decoderOptions, SetEncoder = spec.Encoder, ElementDimension = _d, MaximumSetSize = slots,
                LatentDimension = spec.Encoder.CreateEmbeddingDimension(_d),
            };
            _loss = (_options as SetAutoEncoderFeaturizerOptions)?.Loss ?? (slots <= 32 ? SetLossKind.Hungarian : SetLossKind.Chamfer);
            ch.Info($"Up to {slots} elements of dimension {_d}, reconstruction loss {_loss}.");
        }
        _rows.Features.AddRange(sets);
        return sets.Count;
    }

    protected override Func<int, int> SetSize => i => _rows.Features[i].Length / _d;

    /// <summary>
    /// With <see cref="SetModelOptions.NormalizeSetElements"/>, the encoder reads standardized sets (ModelInputBatch applies
    /// the input's normalization) and the decoder reconstructs standardized sets; statistics of the training rows only.
    /// </summary>
    protected override void Prepare(IChannel ch, EncoderModelSpec spec, int[] trainingRows)
    {
        var input = spec.Inputs[0];
        if (_options.NormalizeSetElements) input.Normalization = SetElementNormalization.Compute(trainingRows.Select(i => _rows.Features[i]).ToList(), _d);
        _rows.Targets = input.Normalization is { } n ? _rows.Features.Select(n.Apply).ToList() : _rows.Features;
    }

    protected override ModelSpec MemorySpec(EncoderModelSpec spec) => _autoEncoderSpec;

    protected override void CheckMemory(MemoryGuard guard, EncoderModelSpec spec, int[] train, int[] valid, bool validationData)
        => _rows.Check(guard, _autoEncoderSpec, spec.Inputs[0], _setColumn, _options.MaximumSetSize, train, valid, validationData);

    protected override EncoderHeadNetwork CreateNetwork(EncoderModelSpec spec)
    {
        var network = ((INetworkSpec<EncoderHeadNetwork>)spec).CreateTypedNetwork();
        // The auto-encoder shares the featurizer's encoder module; only `network` (encoder + unused head) is kept, and the
        // auto-encoder is not disposed: Module.Dispose would also free the shared encoder's weights the featurizer uses.
        _autoEncoder = new SetPredictionNetwork(network.Encoder, _decoderOptions.CreateDecoder(network.Encoder.OutputDimension, _d, _autoEncoderSpec.MaximumSetSize));
        return network;
    }

    protected override nn.Module TrainedModule(EncoderHeadNetwork network) => _autoEncoder!;

    protected override bool ValidationNeedsGradients => true;

    protected override Tensor BatchLoss(EncoderHeadNetwork network, Device device, int[] rows)
        => _rows.Loss(_autoEncoder!, _autoEncoderSpec.Inputs[0], _d, _loss, PairwiseCost.SquaredError, device, rows);
}
