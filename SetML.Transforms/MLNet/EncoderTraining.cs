using Microsoft.ML;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Modules;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Transforms;

/// <summary>Fits an <see cref="EncoderModelSpec"/> (set encoder + head) for one task. Shared by featurizers and trainers.</summary>
internal static class EncoderTraining
{
    /// <summary>Column names of the fitted model's outputs (featurizer: only <see cref="Embedding"/>).</summary>
    public sealed record OutputNames(string? Embedding, string Score = "Score", string Probability = "Probability",
        string PredictedLabel = "PredictedLabel", string PredictedCount = "PredictedCount");

    public static SetModelTransformer Fit(IHostEnvironment env, IDataView data, IDataView? validationData,
        string setColumn, int elementDimension, string labelColumn, SetTask task, SetModelOptions options,
        RegressionLoss regressionLoss, OutputNames names)
    {
        options.Validate();
        SetColumn.ValidateSchema(data.Schema, setColumn, elementDimension);

        var input = new ModelInput
        {
            ColumnName = setColumn, Kind = ModelInputKind.Set, ElementDimension = elementDimension,
            Rules = new SetRules { AllowEmpty = options.AllowEmptySets, MaximumSetSize = options.MaximumSetSize },
        };
        var spec = new EncoderModelSpec
        {
            Inputs = { input },
            Encoder = SpecJson.Clone(options.Encoder ?? new DeepSetsOptions()),
            HeadHiddenSizes = options.HeadHiddenSizes.ToArray(),
            Dropout = options.Dropout,
            Task = task,
            EmbeddingColumnName = names.Embedding,
            ScoreColumnName = names.Score,
            ProbabilityColumnName = names.Probability,
            PredictedLabelColumnName = names.PredictedLabel,
            PredictedCountColumnName = names.PredictedCount,
        };

        var title = $"{spec.Encoder.GetType().Name.Replace("Options", "")} {task} on '{setColumn}' (d = {elementDimension})";
        var host = env.Register("SetML");
        List<float[]> sets;
        float[] targets;
        int[]? validationRows = null;
        using (var ch = host.Start(title))
        {
            (sets, targets) = Read(ch, data, "training", input, labelColumn, task, spec);
            if (sets.Count == 0) throw new InvalidOperationException($"No training rows: the data view given to Fit is empty (set column '{setColumn}').");
            int nTrain = sets.Count;
            if (validationData != null)
            {
                // Validation rows are appended after the training rows and held out by index.
                var (vSets, vTargets) = Read(ch, validationData, "validation", input, labelColumn, task, spec);
                validationRows = Enumerable.Range(sets.Count, vSets.Count).ToArray();
                sets.AddRange(vSets);
                targets = targets.Concat(vTargets).ToArray();
            }
            if (options.NormalizeSetElements)
            {
                // Statistics of the training rows only (never of validation data), then applied to every row.
                input.Normalization = SetElementNormalization.Compute(sets.Take(nTrain).ToList(), elementDimension);
                input.Normalization.ApplyInPlace(sets);
                ch.Info($"Set elements standardized per feature over {input.Normalization.Count} training elements: mean [{Format(input.Normalization.Mean)}], sd [{Format(input.Normalization.Scale)}].");
            }
            if (task == SetTask.Regression && options.NormalizeRegressionLabel)
            {
                spec.LabelNormalization = SetElementNormalization.Compute(new[] { targets.Take(nTrain).ToArray() }, 1);
                var t = spec.LabelNormalization.Apply(targets);
                targets = t;
                ch.Info($"Regression label standardized: mean {spec.LabelNormalization.Mean[0]:G6}, sd {spec.LabelNormalization.Scale[0]:G6} (scores are mapped back).");
            }
        }

        var chunkRandom = new Random(options.Seed ^ 0x0b1a5);                         // UMBC chunk draws: same seed, same model
        Tensor Loss(nn.Module network, Device device, int[] idx)
        {
            var (x, mask) = SetBatch.Pad(idx.Select(i => sets[i]).ToList(), elementDimension, device);
            var yt = torch.tensor(idx.Select(i => targets[i]).ToArray()).to(device);
            var net = (EncoderHeadNetwork)network;
            var output = options.GradientChunkSize > 0
                ? net.Head(ChunkedSetGradient.Encode(net.Encoder, x, mask, options.GradientChunkSize, chunkRandom))
                : net.forward(x, mask);
            return TaskLoss(task, regressionLoss, output, yt);
        }
        return SpecTraining.Fit(env, spec, options, sets.Count, Loss, title, validationRows, i => sets[i].Length / elementDimension);
    }

    /// <summary>The training loss of a task on network outputs <c>[B, K]</c> and targets <c>[B]</c>.</summary>
    public static Tensor TaskLoss(SetTask task, RegressionLoss regressionLoss, Tensor output, Tensor y) => task switch
    {
        SetTask.Regression => regressionLoss switch
        {
            RegressionLoss.Squared => nn.functional.mse_loss(output[.., 0], y),
            RegressionLoss.Absolute => nn.functional.l1_loss(output[.., 0], y),
            _ => nn.functional.huber_loss(output[.., 0], y),
        },
        SetTask.BinaryClassification => nn.functional.binary_cross_entropy_with_logits(output[.., 0], y),
        SetTask.MulticlassClassification => nn.functional.cross_entropy(output, y.to(ScalarType.Int64)),
        // Poisson NLL with log-rate output o: exp(o) − y·o (+ log y!, constant).
        SetTask.PoissonRegression => (output[.., 0].exp() - y * output[.., 0]).mean(),
        _ => throw new ArgumentOutOfRangeException(nameof(task)),
    };

    private static string Format(float[] v) => string.Join(", ", v.Select(x => x.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>
    /// Reads the sets and the task's targets. Rows whose label is missing (NaN, key 0) are skipped, as ML.NET's trainers
    /// do, and counted in the log; no labelled row at all is an error.
    /// </summary>
    private static (List<float[]>, float[]) Read(IChannel ch, IDataView data, string what, ModelInput input, string label, SetTask task, EncoderModelSpec spec)
    {
        SetColumn.ValidateSchema(data.Schema, input.ColumnName, input.ElementDimension);
        var sets = SetDataReader.ReadInput(data, input);
        float[] y;
        switch (task)
        {
            case SetTask.Regression:
                y = SetDataReader.ReadSingle(data, label);
                break;
            case SetTask.PoissonRegression:
                y = SetDataReader.ReadSingle(data, label);
                for (int i = 0; i < y.Length; i++)
                    if (y[i] < 0) throw new SetColumnException(label, i, SetRule.LabelValue, $"the count label is {y[i]}; Poisson regression needs counts ≥ 0");
                break;
            case SetTask.BinaryClassification:
                y = SetDataReader.ReadBoolean(data, label).Select(b => b ? 1f : 0f).ToArray();
                break;
            case SetTask.MulticlassClassification:
                var keys = SetDataReader.ReadKey(data, label);
                if (spec.OutputSize > 1 && spec.OutputSize != keys.Count)
                    throw new SetColumnException(label, null, SetRule.ColumnType, $"the validation label has {keys.Count} classes but the training label has {spec.OutputSize}");
                spec.OutputSize = keys.Count;
                if (spec.ClassNames == null) (spec.ClassNames, spec.ClassKeyValueType) = (keys.Names, keys.ValueType);
                y = keys.Classes.Select(c => c < 0 ? float.NaN : c).ToArray();
                break;
            default: throw new ArgumentOutOfRangeException(nameof(task));
        }
        int total = y.Length, missing = y.Count(float.IsNaN);
        if (missing > 0)
        {
            if (missing == total)
                throw new SetColumnException(label, null, SetRule.LabelValue,
                    $"all {total} {what} rows have a missing label (NaN, or key 0 for a key label); at least one labelled row is needed");
            ch.Warning($"Skipped {missing} of {total} {what} rows whose label '{label}' is missing (NaN, or key 0 for a key label).");
            var keep = Enumerable.Range(0, total).Where(i => !float.IsNaN(y[i])).ToArray();
            sets = keep.Select(i => sets[i]).ToList();
            y = keep.Select(i => y[i]).ToArray();
        }
        return (sets, y);
    }
}
