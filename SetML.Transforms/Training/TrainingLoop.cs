using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Training;

/// <summary>Outcome of <see cref="TrainingLoop.Run"/>.</summary>
/// <param name="EpochsRun">Epochs actually run (fewer with early stopping or cancellation).</param>
/// <param name="TrainingLosses">Mean training loss per epoch.</param>
/// <param name="ValidationLosses">Validation loss per epoch (empty without validation).</param>
/// <param name="BestEpoch">1-based epoch whose weights were kept (the last one without validation).</param>
public sealed record TrainingResult(int EpochsRun, IReadOnlyList<double> TrainingLosses, IReadOnlyList<double> ValidationLosses, int BestEpoch);

/// <summary>Progress of a training run after one mini-batch (see <see cref="TrainingHooks.BatchDone"/>).</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Total epochs planned.</param>
/// <param name="Batch">1-based mini-batch within the epoch, just finished.</param>
/// <param name="Batches">Mini-batches in the epoch.</param>
/// <param name="Loss">Loss of this mini-batch.</param>
public readonly record struct TrainingBatchProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss);

/// <summary>
/// What a host (the ML.NET layer) plugs into <see cref="TrainingLoop.Run"/>, so the loop itself stays free of ML.NET
/// types: a cancellation check before every mini-batch, and progress after every mini-batch and epoch.
/// </summary>
public sealed class TrainingHooks
{
    /// <summary>
    /// Called before every mini-batch (and before validation); throws to stop training — ML.NET's <c>CheckAlive</c>, which
    /// throws <see cref="OperationCanceledException"/> after <c>MLContext.CancelExecution()</c>.
    /// </summary>
    public Action? CheckAlive { get; init; }
    /// <summary>Called after every mini-batch.</summary>
    public Action<TrainingBatchProgress>? BatchDone { get; init; }
    /// <summary>Called after every epoch (besides <see cref="SetTrainingOptions.Progress"/>).</summary>
    public Action<TrainingProgress>? EpochDone { get; init; }
}

/// <summary>
/// The one mini-batch training loop every SetML trainer uses (template method: a task supplies only the loss of a
/// batch of row indices, and optionally a validation loss). Handles shuffling from the seed, AdamW, schedules,
/// gradient clipping, early stopping with best-weights restore, progress, cancellation, and disposes every tensor
/// of an iteration (<c>torch.NewDisposeScope()</c>) so native memory does not grow across epochs.
/// </summary>
public static class TrainingLoop
{
    /// <summary>Trains <paramref name="model"/>.</summary>
    /// <param name="model">The network (already on its device).</param>
    /// <param name="options">Training options.</param>
    /// <param name="trainingCount">Number of training rows.</param>
    /// <param name="batchLoss">Loss (scalar tensor, differentiable) of the given training rows.</param>
    /// <param name="validationLoss">Validation loss under no_grad/eval, or null for none.</param>
    /// <param name="log">Receives one line per epoch (wired to MLContext.Log by the ML.NET layer).</param>
    /// <param name="setSize">Size of training row i, for <see cref="SetTrainingOptions.GroupBatchesBySetSize"/>; null = unknown.</param>
    /// <param name="hooks">Cancellation check and progress callbacks of the host (the ML.NET layer); null = none.</param>
    public static TrainingResult Run(nn.Module model, SetTrainingOptions options, int trainingCount,
        Func<int[], Tensor> batchLoss, Func<double>? validationLoss = null, Action<string>? log = null, Func<int, int>? setSize = null,
        TrainingHooks? hooks = null)
    {
        options.Validate();
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        var trainLosses = new List<double>();
        var validLosses = new List<double>();
        if (options.Epochs == 0 || trainingCount == 0 || parameters.Count == 0)
            return new TrainingResult(0, trainLosses, validLosses, 0);

        using var optimizer = new AdamW(parameters.Cast<TorchSharp.Modules.Parameter>(), options.LearningRate, options.WeightDecay);
        var rng = new Random(options.Seed);
        var order = Enumerable.Range(0, trainingCount).ToArray();
        var watch = Stopwatch.StartNew();
        double best = double.PositiveInfinity;
        int bestEpoch = 0, sinceBest = 0, epoch = 0;
        Dictionary<string, Tensor>? bestState = null;
        try
        {
            for (epoch = 1; epoch <= options.Epochs; epoch++)
            {
                model.train();
                Shuffle(order, rng);
                double sum = 0; int batches = 0;
                var epochBatches = Batches(order, options.BatchSize, options.GroupBatchesBySetSize ? setSize : null, rng).ToList();
                foreach (var idx in epochBatches)
                {
                    if (options.CancellationToken.IsCancellationRequested) break;
                    hooks?.CheckAlive?.Invoke();
                    optimizer.LearningRate = LearningRate(options, epoch - 1 + (double)batches / epochBatches.Count);
                    using var scope = torch.NewDisposeScope();
                    optimizer.ZeroGrad();
                    var loss = batchLoss(idx);
                    double value = loss.item<float>();
                    if (!double.IsFinite(value))
                        throw new InvalidOperationException(
                            $"Training diverged: the loss became {value} in epoch {epoch}. Lower the learning rate, enable GradientClipNorm, or check the labels.");
                    loss.backward();
                    if (options.GradientClipNorm > 0)
                        optimizer.ClipGradientNorm(options.GradientClipNorm);
                    optimizer.Step();
                    sum += value; batches++;
                    hooks?.BatchDone?.Invoke(new TrainingBatchProgress(epoch, options.Epochs, batches, epochBatches.Count, value));
                }
                double trainLoss = batches > 0 ? sum / batches : double.NaN;
                trainLosses.Add(trainLoss);

                double? valid = null;
                if (validationLoss != null)
                {
                    hooks?.CheckAlive?.Invoke();
                    model.eval();
                    using (torch.no_grad()) valid = validationLoss();
                    validLosses.Add(valid.Value);
                    if (valid.Value < best)
                    {
                        best = valid.Value; bestEpoch = epoch; sinceBest = 0;
                        DisposeState(bestState);
                        bestState = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
                    }
                    else sinceBest++;
                }
                else bestEpoch = epoch;

                var elapsed = watch.Elapsed;
                var remaining = TimeSpan.FromTicks(elapsed.Ticks / epoch * (options.Epochs - epoch));
                log?.Invoke($"epoch {epoch}/{options.Epochs}: training loss {trainLoss:G5}" + (valid.HasValue ? $", validation loss {valid.Value:G5}" : ""));
                var progress = new TrainingProgress(epoch, options.Epochs, trainLoss, valid, elapsed, remaining);
                hooks?.EpochDone?.Invoke(progress);
                options.Progress?.Report(progress);

                if (options.CancellationToken.IsCancellationRequested) break;
                if (options.EarlyStoppingPatience > 0 && validationLoss != null && sinceBest >= options.EarlyStoppingPatience)
                {
                    log?.Invoke($"early stopping after epoch {epoch}: no validation improvement for {sinceBest} epochs (best epoch {bestEpoch}).");
                    break;
                }
            }
            if (bestState != null && bestEpoch != trainLosses.Count)
            {
                using (torch.no_grad())
                    foreach (var (name, p) in model.state_dict()) p.copy_(bestState[name]);
            }
        }
        finally
        {
            DisposeState(bestState);
            model.eval();
        }
        return new TrainingResult(trainLosses.Count, trainLosses, validLosses, bestEpoch);
    }

    private static void DisposeState(Dictionary<string, Tensor>? state)
    {
        if (state == null) return;
        foreach (var t in state.Values) t.Dispose();
    }

    /// <summary>
    /// The learning rate after <paramref name="epochsDone"/> epochs (fractional: the cosine schedule moves every batch;
    /// the step schedule changes at epoch boundaries).
    /// </summary>
    public static double LearningRate(SetTrainingOptions o, double epochsDone) => o.Schedule switch
    {
        LearningRateSchedule.Constant => o.LearningRate,
        LearningRateSchedule.Step => o.LearningRate * Math.Pow(o.StepGamma, (int)Math.Floor(epochsDone) / o.StepSize),
        LearningRateSchedule.Cosine => o.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * epochsDone / Math.Max(1, o.Epochs))),
        _ => o.LearningRate,
    };

    /// <summary>Sets per size-sorted window, in batches (<see cref="SetTrainingOptions.GroupBatchesBySetSize"/>).</summary>
    internal const int BatchesPerSizeWindow = 50;

    /// <summary>
    /// The mini-batches of one epoch from the shuffled <paramref name="order"/>: consecutive slices, or, with
    /// <paramref name="setSize"/>, batches of similar-size sets (windows of <see cref="BatchesPerSizeWindow"/> batches
    /// sorted by size, then all batches shuffled).
    /// </summary>
    public static IEnumerable<int[]> Batches(int[] order, int batchSize, Func<int, int>? setSize, Random rng)
    {
        var batches = new List<int[]>((order.Length + batchSize - 1) / batchSize);
        int window = batchSize * BatchesPerSizeWindow;
        for (int w = 0; w < order.Length; w += window)
        {
            var chunk = order.AsSpan(w, Math.Min(window, order.Length - w)).ToArray();
            if (setSize != null) chunk = chunk.OrderBy(setSize).ToArray();     // stable: ties keep the shuffled order
            for (int start = 0; start < chunk.Length; start += batchSize)
                batches.Add(chunk.AsSpan(start, Math.Min(batchSize, chunk.Length - start)).ToArray());
        }
        if (setSize == null) return batches;
        var shuffled = batches.ToArray();
        Shuffle(shuffled, rng);
        return shuffled;
    }

    /// <summary>Fisher–Yates shuffle with the given generator (deterministic for a seed).</summary>
    public static void Shuffle<T>(T[] a, Random rng)
    {
        for (int i = a.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (a[i], a[j]) = (a[j], a[i]);
        }
    }
}
