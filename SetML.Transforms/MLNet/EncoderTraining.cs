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

        var (sets, targets) = Read(data, input, labelColumn, task, spec);
        if (sets.Count == 0) throw new InvalidOperationException($"No training rows: the data view given to Fit is empty (set column '{setColumn}').");
        int[]? validationRows = null;
        if (validationData != null)
        {
            // Validation rows are appended after the training rows and held out by index.
            var (vSets, vTargets) = Read(validationData, input, labelColumn, task, spec);
            validationRows = Enumerable.Range(sets.Count, vSets.Count).ToArray();
            sets.AddRange(vSets);
            targets = targets.Concat(vTargets).ToArray();
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
        return SpecTraining.Fit(env, spec, options, sets.Count, Loss,
            $"{spec.Encoder.GetType().Name.Replace("Options", "")} {task} on '{setColumn}' (d = {elementDimension})", validationRows,
            i => sets[i].Length / elementDimension);
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

    private static (List<float[]>, float[]) Read(IDataView data, ModelInput input, string label, SetTask task, EncoderModelSpec spec)
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
                var (classes, count, names) = SetDataReader.ReadKey(data, label);
                if (spec.OutputSize > 1 && spec.OutputSize != count)
                    throw new SetColumnException(label, null, SetRule.ColumnType, $"the validation label has {count} classes but the training label has {spec.OutputSize}");
                spec.OutputSize = count;
                spec.ClassNames ??= names;
                y = classes.Select(c => (float)c).ToArray();
                break;
            default: throw new ArgumentOutOfRangeException(nameof(task));
        }
        return (sets, y);
    }
}
