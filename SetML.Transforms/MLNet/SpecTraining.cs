using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Transforms;

/// <summary>
/// Shared training plumbing of the Set Transformer family's trainers: seeds and creates the network from the spec,
/// splits off validation rows, runs <see cref="TrainingLoop.Run"/>, and wraps the result in a <see cref="SetModelTransformer"/>.
/// </summary>
internal static class SpecTraining
{
    /// <param name="env">The ML.NET environment (logging goes to MLContext.Log).</param>
    /// <param name="spec">The model to build and train.</param>
    /// <param name="options">Training options.</param>
    /// <param name="rows">Number of rows the loss can be asked about (indices 0..rows−1).</param>
    /// <param name="batchLoss">Loss of the network on the given rows.</param>
    /// <param name="title">Name of the training run in the log.</param>
    /// <param name="validationRows">Rows held out for validation (e.g. from separate validation data); null = a seeded
    /// <see cref="SetTrainingOptions.ValidationFraction"/> of all rows.</param>
    /// <param name="setSize">Number of elements of row i (for <see cref="SetTrainingOptions.GroupBatchesBySetSize"/>); null = unknown.</param>
    public static SetModelTransformer Fit(IHostEnvironment env, ModelSpec spec, SetModelOptions options, int rows,
        Func<nn.Module, Device, int[], Tensor> batchLoss, string title, int[]? validationRows = null, Func<int, int>? setSize = null)
    {
        MLNetInternals.EnsureSupportedVersion();
        options.Validate();
        if (options.GradientChunkSize > 0 && spec is not EncoderModelSpec)
            throw new ArgumentException(
                $"GradientChunkSize (chunked unbiased-gradient training) applies to set → vector models with a mini-batch consistent encoder; {title} does not support it. Set it to 0.",
                nameof(options));
        var host = env.Register("SetML");
        using var ch = host.Start(title);
        if (rows == 0) throw new InvalidOperationException($"No training rows: the data view given to Fit is empty ({title}).");
        // Memory, before anything is allocated: a set whose training step alone exceeds the budget is refused (naming its
        // row, in the validation data when it comes from there); larger batches are split below.
        var guard = new MemoryGuard(spec, options.MemoryBudgetBytes, training: true, "MemoryBudgetBytes in the options");
        long[] Sizes(int i) => new[] { (long)(setSize?.Invoke(i) ?? 0) };
        if (setSize != null)
        {
            var validationIndex = validationRows?.Select((row, k) => (row, k)).ToDictionary(p => p.row, p => p.k) ?? new Dictionary<int, int>();
            int firstValidation = validationRows is { Length: > 0 } ? validationRows.Min() : rows;
            var trainingOrder = Enumerable.Range(0, firstValidation).ToArray();
            guard.CheckRows(trainingOrder.Length, k => Sizes(trainingOrder[k]), k => trainingOrder[k]);
            var validationOrder = validationIndex.Keys.OrderBy(r => r).ToArray();
            guard.CheckRows(validationOrder.Length, k => Sizes(validationOrder[k]), k => validationIndex[validationOrder[k]], " of the validation data");
        }
        var device = TorchRuntime.Resolve(options.Device, MLNetInternals.GetDeviceSettings(env));
        ch.Info($"Device: {device} (options.Device {options.Device}).");
        nn.Module network;
        lock (TorchRuntime.InitializationLock)
        {
            TorchRuntime.Seed(options.Seed);
            network = spec.CreateNetwork();
        }
        if (device.type != DeviceType.CPU) network.to(device);

        int[] valid, train;
        if (validationRows != null)
        {
            var held = new HashSet<int>(validationRows);
            valid = validationRows;
            train = Enumerable.Range(0, rows).Where(i => !held.Contains(i)).ToArray();
        }
        else
        {
            var order = Enumerable.Range(0, rows).ToArray();
            int nValid = options.ValidationFraction > 0 ? (int)Math.Round(rows * options.ValidationFraction) : 0;
            if (nValid > 0) TrainingLoop.Shuffle(order, new Random(options.Seed ^ 0x5e7));
            valid = order.Take(nValid).ToArray();
            train = order.Skip(nValid).ToArray();
        }
        if (train.Length == 0) throw new InvalidOperationException($"No training rows left after holding out {valid.Length} validation rows ({title}).");
        ch.Info($"{train.Length} training sets, {valid.Length} validation sets.");
        double ValidationLoss()
        {
            double sum = 0;
            for (int start = 0; start < valid.Length; start += options.BatchSize)
            {
                var idx = valid.AsSpan(start, Math.Min(options.BatchSize, valid.Length - start)).ToArray();
                foreach (var part in Split(idx))
                {
                    using var scope = torch.NewDisposeScope();
                    sum += batchLoss(network, device, part).item<float>() * part.Length;
                }
            }
            return sum / valid.Length;
        }
        IReadOnlyList<int[]> Split(int[] idx) => setSize == null ? new[] { idx } : guard.Split(idx, Sizes);
        try
        {
            using var monitor = new MLNetTrainingMonitor(host, title);
            var result = TrainingLoop.Run(network, options, train.Length, idx => batchLoss(network, device, idx.Select(i => train[i]).ToArray()),
                valid.Length > 0 ? ValidationLoss : null, msg => ch.Info(msg), setSize == null ? null : i => setSize(train[i]), monitor.Hooks,
                setSize == null ? null : idx => guard.Split(idx, i => Sizes(train[i])));
            ch.Info($"Training finished after {result.EpochsRun} epochs (kept epoch {result.BestEpoch}).");
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return new SetModelTransformer(env, spec, network, options.Device, options.PredictionBatchSize) { MemoryBudgetBytes = options.MemoryBudgetBytes };
    }

    public static ModelInput SetInput(string column, int d, SetModelOptions options) => new()
    {
        ColumnName = column, Kind = ModelInputKind.Set, ElementDimension = d,
        Rules = new SetRules { AllowEmpty = options.AllowEmptySets, MaximumSetSize = options.MaximumSetSize },
    };

    public static SchemaShape.Column Vector(string name, bool variable = false)
        => SchemaShapes.Column(name, variable ? SchemaShape.Column.VectorKind.VariableVector : SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
}

