using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Losses;
using SetML.Models;
using SetML.Modules;
using SetML.Modules.SetPrediction;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Transforms;

/// <summary>
/// Fits a <see cref="SetPredictionModelSpec"/> (vector → set, or a set auto-encoder) and the unsupervised mode of the
/// set featurizers. Same pattern as <see cref="EncoderTraining"/>: read with <see cref="SetDataReader"/>, create the
/// network under <see cref="TorchRuntime.InitializationLock"/>, train with <see cref="TrainingLoop.Run"/>.
/// </summary>
internal static class SetPredictionTraining
{
    /// <summary>Trains a set-prediction model whose label is the set column <paramref name="labelColumn"/> (dimension <paramref name="d"/>).</summary>
    public static SetModelTransformer Fit(IHostEnvironment env, IDataView data, IDataView? validationData, string featureColumn,
        string labelColumn, int d, SetPredictionOptions options, SetDecoderOptions defaultDecoder)
    {
        MLNetInternals.EnsureSupportedVersion();
        options.Validate();
        var host = env.Register("SetML");
        var decoderOptions = SpecJson.Clone(options.Decoder ?? defaultDecoder);
        decoderOptions.Validate();
        using var ch = host.Start($"Training {decoderOptions.GetType().Name.Replace("Options", "")} set predictor");
        SetColumn.ValidateSchema(data.Schema, labelColumn, d);

        var labelInput = new ModelInput
        {
            ColumnName = labelColumn, Kind = ModelInputKind.Set, ElementDimension = d,
            Rules = new SetRules { AllowEmpty = options.AllowEmptySets, MaximumSetSize = options.MaximumSetSize },
        };
        var input = DescribeFeatures(data.Schema, featureColumn, labelColumn, d, options.AllowEmptySets);
        var labels = SetDataReader.ReadInput(data, labelInput);
        var features = featureColumn == labelColumn ? labels : SetDataReader.ReadInput(data, input);
        if (labels.Count == 0) throw new InvalidOperationException($"No training rows: the data view given to Fit is empty (label column '{labelColumn}').");
        if (input.Kind == ModelInputKind.Vector && input.VectorSize == 0) input.VectorSize = features[0].Length;
        int slots = options.MaximumSetSize > 0 ? options.MaximumSetSize : Math.Max(1, labels.Max(l => l.Length / d));
        // An auto-encoder reconstructs its input, so an input set larger than the N slots is rejected at prediction too.
        if (featureColumn == labelColumn) input.Rules.MaximumSetSize = slots;

        var setEncoder = options.SetEncoder is null ? null : SpecJson.Clone(options.SetEncoder);
        if (input.Kind == ModelInputKind.Set && setEncoder is null && decoderOptions is not DspnOptions)
            setEncoder = new RelaxedDeepSetsOptions { EmbeddingDimension = decoderOptions.LatentDimension, Slots = slots };
        if (setEncoder is RelaxedDeepSetsOptions { Slots: <= 1 } r) r.Slots = slots;
        var spec = new SetPredictionModelSpec
        {
            Inputs = { input },
            Decoder = decoderOptions,
            InputEncoder = input.Kind == ModelInputKind.Vector ? SpecJson.Clone(options.InputEncoder ?? new MlpInputEncoderOptions()) : null,
            SetEncoder = setEncoder,
            ElementDimension = d,
            MaximumSetSize = slots,
            LatentDimension = input.Kind == ModelInputKind.Set && setEncoder != null ? setEncoder.CreateEmbeddingDimension(input.ElementDimension) : decoderOptions.LatentDimension,
        };
        // Memory: a set input whose training step alone would exceed the budget is refused before anything is allocated.
        var guard = new MemoryGuard(spec, options.MemoryBudgetBytes, training: true, "MemoryBudgetBytes in the options");
        CheckSlots(guard, spec, labelColumn, labels, d, options.MaximumSetSize);
        CheckMemory(guard, input, features, "");
        List<float[]> vFeatures, vLabels;
        if (validationData != null)
        {
            vLabels = SetDataReader.ReadInput(validationData, labelInput);
            vFeatures = featureColumn == labelColumn ? vLabels : SetDataReader.ReadInput(validationData, input);
            CheckMemory(guard, input, vFeatures, " of the validation data");
        }
        else (features, labels, vFeatures, vLabels) = Split(features, labels, options.ValidationFraction, options.Seed);
        CheckSizes(labelColumn, labels, d, slots);
        CheckSizes(labelColumn, vLabels, d, slots);

        var loss = options.ResolveLoss(slots);
        ch.Info($"{labels.Count} training rows, {vLabels.Count} validation rows, up to {slots} elements of dimension {d}, loss {loss}.");

        var device = TorchRuntime.Resolve(options.Device, MLNetInternals.GetDeviceSettings(env));
        SetPredictionNetwork network;
        lock (TorchRuntime.InitializationLock)
        {
            TorchRuntime.Seed(options.Seed);
            network = (SetPredictionNetwork)spec.CreateNetwork();
        }
        if (device.type != DeviceType.CPU) network.to(device);
        try
        {
            Train(network, input, features, labels, vFeatures, vLabels, d, loss, options, device, host, ch, guard);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return new SetModelTransformer(env, spec, network, options.Device, options.PredictionBatchSize) { MemoryBudgetBytes = options.MemoryBudgetBytes };
    }

    // Largest sets first: when the model's N slots come from the largest set, that set is the one to name.
    private static void CheckMemory(MemoryGuard guard, ModelInput input, List<float[]> rows, string where)
    {
        if (input.Kind != ModelInputKind.Set) return;
        var order = Enumerable.Range(0, rows.Count).OrderByDescending(r => rows[r].Length).ToArray();
        guard.CheckRows(order.Length, k => new[] { (long)(rows[order[k]].Length / input.ElementDimension) }, k => order[k], where);
    }

    // The decoder's N slots alone (N = MaximumSetSize, or the largest label set) must fit the budget.
    private static void CheckSlots(MemoryGuard guard, SetPredictionModelSpec spec, string labelColumn, List<float[]> labels, int d, int maximumSetSize)
    {
        double bytes = guard.Bytes(1, new[] { 0L });
        if (bytes <= guard.Budget) return;
        string detail = $"a model with N = {spec.MaximumSetSize} slots would need about {MemoryBudget.Format(bytes)} per training set, more than the memory budget " +
                        $"of {MemoryBudget.Format(guard.Budget)} (its set loss compares N predictions with up to N targets, quadratic in N). Nothing was allocated. ";
        if (maximumSetSize > 0)
            throw new ArgumentOutOfRangeException("MaximumSetSize", maximumSetSize, "MaximumSetSize is too large for the memory budget: " + detail + "Lower MaximumSetSize or raise MemoryBudgetBytes.");
        int row = Enumerable.Range(0, labels.Count).MaxBy(r => labels[r].Length);
        throw new SetColumnException(labelColumn, row, SetRule.MemoryBudget,
            $"the label set has {labels[row].Length / d} elements, which makes N = {spec.MaximumSetSize}: " + detail +
            "Set MaximumSetSize to the largest set the model should predict (larger label sets are then refused), raise MemoryBudgetBytes, or remove the row");
    }

    /// <summary>
    /// Unsupervised set featurizer: trains the featurizer's encoder as the encoder of a set auto-encoder (decoder from
    /// <see cref="SetAutoEncoderFeaturizerOptions.Decoder"/>, DSPN by default) and keeps only the encoder.
    /// </summary>
    public static SetModelTransformer FitAutoEncoderFeaturizer(IHostEnvironment env, IDataView data, IDataView? validationData,
        string setColumn, int d, SetFeaturizerOptions options, string outputColumn)
    {
        MLNetInternals.EnsureSupportedVersion();
        options.Validate();
        var auto = options as SetAutoEncoderFeaturizerOptions;
        var decoderOptions = SpecJson.Clone(auto?.Decoder ?? new DspnOptions());
        decoderOptions.Validate();
        var host = env.Register("SetML");
        using var ch = host.Start($"Training a set auto-encoder featurizer ({decoderOptions.GetType().Name.Replace("Options", "")} decoder)");
        SetColumn.ValidateSchema(data.Schema, setColumn, d);
        var input = new ModelInput
        {
            ColumnName = setColumn, Kind = ModelInputKind.Set, ElementDimension = d,
            Rules = new SetRules { AllowEmpty = options.AllowEmptySets, MaximumSetSize = options.MaximumSetSize },
        };
        var sets = SetDataReader.ReadInput(data, input);
        if (sets.Count == 0) throw new InvalidOperationException($"No training rows: the data view given to Fit is empty (set column '{setColumn}').");
        int slots = options.MaximumSetSize > 0 ? options.MaximumSetSize : Math.Max(1, sets.Max(s => s.Length / d));
        var spec = new EncoderModelSpec
        {
            Inputs = { input },
            Encoder = SpecJson.Clone(options.Encoder ?? new DeepSetsOptions()),
            HeadHiddenSizes = options.HeadHiddenSizes.ToArray(),
            Task = SetTask.Regression,
            EmbeddingColumnName = outputColumn,
        };
        // Memory of a training step of the whole auto-encoder (encoder on the set, decoder on N = slots).
        var autoEncoderSpec = new SetPredictionModelSpec
        {
            Inputs = { input }, Decoder = decoderOptions, SetEncoder = spec.Encoder, ElementDimension = d, MaximumSetSize = slots,
            LatentDimension = spec.Encoder.CreateEmbeddingDimension(d),
        };
        var guard = new MemoryGuard(autoEncoderSpec, options.MemoryBudgetBytes, training: true, "MemoryBudgetBytes in the options");
        CheckSlots(guard, autoEncoderSpec, setColumn, sets, d, options.MaximumSetSize);
        CheckMemory(guard, input, sets, "");
        var vSets = validationData != null ? SetDataReader.ReadInput(validationData, input) : new List<float[]>();
        if (validationData != null) CheckMemory(guard, input, vSets, " of the validation data");
        if (validationData == null) (sets, _, vSets, _) = Split(sets, sets, options.ValidationFraction, options.Seed);
        CheckSizes(setColumn, vSets, d, slots);

        var device = TorchRuntime.Resolve(options.Device, MLNetInternals.GetDeviceSettings(env));
        EncoderHeadNetwork network;
        SetDecoder decoder;
        lock (TorchRuntime.InitializationLock)
        {
            TorchRuntime.Seed(options.Seed);
            network = (EncoderHeadNetwork)spec.CreateNetwork();
            decoder = decoderOptions.CreateDecoder(network.Encoder.OutputDimension, d, slots);
        }
        // The auto-encoder shares the featurizer's encoder module; only `network` (encoder + unused head) is kept.
        // Not disposed: Module.Dispose would also free the shared encoder's weights that the returned featurizer uses.
        var autoEncoder = new SetPredictionNetwork(network.Encoder, decoder);
        if (device.type != DeviceType.CPU) autoEncoder.to(device);
        var loss = auto?.Loss ?? (slots <= 32 ? SetLossKind.Hungarian : SetLossKind.Chamfer);
        ch.Info($"{sets.Count} training sets, up to {slots} elements of dimension {d}, reconstruction loss {loss}.");
        var trainingOptions = new SetPredictionOptions
        {
            Seed = options.Seed, Device = options.Device, Epochs = options.Epochs, BatchSize = options.BatchSize,
            LearningRate = options.LearningRate, WeightDecay = options.WeightDecay, Schedule = options.Schedule,
            StepSize = options.StepSize, StepGamma = options.StepGamma, GradientClipNorm = options.GradientClipNorm,
            EarlyStoppingPatience = options.EarlyStoppingPatience, OnDivergence = options.OnDivergence, MemoryBudgetBytes = options.MemoryBudgetBytes, Progress = options.Progress, CancellationToken = options.CancellationToken,
        };
        Train(autoEncoder, input, sets, sets, vSets, vSets, d, loss, trainingOptions, device, host, ch, guard);
        network.eval();
        return new SetModelTransformer(env, spec, network, options.Device, options.PredictionBatchSize) { MemoryBudgetBytes = options.MemoryBudgetBytes };
    }

    /// <summary>The training loop of a set-prediction network over materialized rows (batches split to fit <paramref name="guard"/>).</summary>
    internal static void Train(SetPredictionNetwork network, ModelInput input, List<float[]> features, List<float[]> labels,
        List<float[]> vFeatures, List<float[]> vLabels, int d, SetLossKind loss, SetTrainingOptions options, Device device, IHost host, IChannel ch,
        MemoryGuard? guard = null)
    {
        Action<string> log = msg => ch.Info(msg);
        using var monitor = new MLNetTrainingMonitor(host, "Training a set predictor");
        IReadOnlyList<int[]> Split(List<float[]> f, int[] idx) => guard == null || input.Kind != ModelInputKind.Set
            ? new[] { idx } : guard.Split(idx, i => new[] { (long)(f[i].Length / input.ElementDimension) });
        var cost = options is SetPredictionOptions p ? p.PairwiseCost : PairwiseCost.SquaredError;
        Tensor Loss(List<float[]> f, List<float[]> l, int[] idx)
        {
            var (target, targetMask) = SetBatch.Pad(idx.Select(i => l[i]).ToList(), d, device);
            using var batch = new ModelInputBatch(new[] { input }, new[] { (IReadOnlyList<float[]>)idx.Select(i => f[i]).ToList() }, device);
            return network.Loss(batch.X[0], batch.Mask[0], target, targetMask, loss, cost);
        }
        Func<double>? validation = vLabels.Count == 0 ? null : () =>
        {
            double sum = 0;
            for (int start = 0; start < vLabels.Count; start += options.BatchSize)
            {
                var idx = Enumerable.Range(start, Math.Min(options.BatchSize, vLabels.Count - start)).ToArray();
                foreach (var part in Split(vFeatures, idx))
                {
                    using var scope = torch.NewDisposeScope();
                    // DSPN's inner loop needs gradients, so the validation loss is computed with them (and then dropped).
                    using (torch.enable_grad()) sum += Loss(vFeatures, vLabels, part).item<float>() * part.Length;
                }
            }
            return sum / vLabels.Count;
        };
        var result = TrainingLoop.Run(network, options, labels.Count, idx => Loss(features, labels, idx), validation, log, hooks: monitor.Hooks,
            split: idx => Split(features, idx));
        log($"Training finished after {result.EpochsRun} epochs (kept epoch {result.BestEpoch}).");
    }

    /// <summary>Describes the feature column: a set (annotated, or the label column itself) or a fixed-size vector.</summary>
    internal static ModelInput DescribeFeatures(DataViewSchema schema, string featureColumn, string labelColumn, int d, bool allowEmpty)
    {
        var col = schema.GetColumnOrNull(featureColumn)
            ?? throw new SetColumnException(featureColumn, null, SetRule.ColumnExists, "the feature column was not found in the input schema");
        var setDim = featureColumn == labelColumn ? d : SetColumn.GetElementDimension(col);
        if (setDim is int sd)
        {
            SetColumn.ValidateSchema(schema, featureColumn, sd);
            return new ModelInput { ColumnName = featureColumn, Kind = ModelInputKind.Set, ElementDimension = sd, Rules = new SetRules { AllowEmpty = allowEmpty } };
        }
        if (col.Type is not VectorDataViewType vt || vt.ItemType != NumberDataViewType.Single)
            throw new SetColumnException(featureColumn, null, SetRule.ColumnType,
                $"the features of a set predictor must be a vector of Single (or a set column with the {SetColumn.ElementDimensionAnnotation} annotation), but the column has type {col.Type}");
        return new ModelInput { ColumnName = featureColumn, Kind = ModelInputKind.Vector, ElementDimension = 0, VectorSize = vt.IsKnownSize ? vt.Size : 0 };
    }

    private static void CheckSizes(string column, List<float[]> labels, int d, int slots)
    {
        for (int i = 0; i < labels.Count; i++)
            if (labels[i].Length / d > slots)
                throw new SetColumnException(column, i, SetRule.MaximumSize,
                    $"the label set has {labels[i].Length / d} elements, more than the model's maximum set size {slots} (raise MaximumSetSize)");
    }

    private static (List<float[]>, List<float[]>, List<float[]>, List<float[]>) Split(List<float[]> f, List<float[]> l, double fraction, int seed)
    {
        if (fraction <= 0) return (f, l, new List<float[]>(), new List<float[]>());
        var order = Enumerable.Range(0, l.Count).ToArray();
        TrainingLoop.Shuffle(order, new Random(seed ^ 0x5e7));
        int nValid = (int)Math.Round(l.Count * fraction);
        var v = order.Take(nValid).ToArray();
        var t = order.Skip(nValid).ToArray();
        return (t.Select(i => f[i]).ToList(), t.Select(i => l[i]).ToList(), v.Select(i => f[i]).ToList(), v.Select(i => l[i]).ToList());
    }
}
