using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using SetML.Modules;

namespace SetML.Training;

/// <summary>Outcome of <see cref="TrainingLoop.Run"/>.</summary>
/// <param name="EpochsRun">Epochs actually run (fewer with early stopping or cancellation).</param>
/// <param name="TrainingLosses">Mean training loss per epoch.</param>
/// <param name="ValidationLosses">Validation loss per epoch (empty without validation).</param>
/// <param name="BestEpoch">1-based epoch whose weights were kept (the last one without validation).</param>
public sealed record TrainingResult(int EpochsRun, IReadOnlyList<double> TrainingLosses, IReadOnlyList<double> ValidationLosses, int BestEpoch)
{
    /// <summary>
    /// Set when training diverged and <see cref="SetTrainingOptions.OnDivergence"/> is
    /// <see cref="DivergenceHandling.KeepLastGoodWeights"/>: what happened (the model holds the weights of <see cref="BestEpoch"/>).
    /// </summary>
    public TrainingDivergedException? Divergence { get; init; }
}

/// <summary>
/// Training diverged: the loss of a mini-batch became NaN or ±∞ (or the loss could not be computed because the weights
/// had become non-finite). The message names the epoch, the batch, the last finite loss, the learning rate and the likely
/// cause. The exception holds no native resource: the partly trained network is freed before it is thrown.
/// </summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(string message, int epoch, int batch, int batchesPerEpoch, double loss, double learningRate, Exception? inner = null)
        : base(message, inner)
    {
        Epoch = epoch; Batch = batch; BatchesPerEpoch = batchesPerEpoch; Loss = loss; LearningRate = learningRate;
    }

    /// <summary>The 1-based epoch in which the loss stopped being finite.</summary>
    public int Epoch { get; }
    /// <summary>The 1-based mini-batch of that epoch.</summary>
    public int Batch { get; }
    /// <summary>Mini-batches per epoch.</summary>
    public int BatchesPerEpoch { get; }
    /// <summary>The non-finite loss (NaN or ±∞; NaN when the loss itself could not be computed).</summary>
    public double Loss { get; }
    /// <summary>The learning rate of that mini-batch.</summary>
    public double LearningRate { get; }
}

/// <summary>Progress of a training run after one mini-batch (see <see cref="TrainingHooks.BatchDone"/>).</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Total epochs planned.</param>
/// <param name="Batch">1-based mini-batch within the epoch, just finished.</param>
/// <param name="Batches">Mini-batches in the epoch.</param>
/// <param name="Loss">
/// Mean training loss of the previous epoch (NaN in the first): the loop keeps the mini-batch losses on the device and reads
/// them once per epoch (or every <c>64</c> batches), not after every step, so a mini-batch's own loss is not known yet.
/// </param>
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
    /// <param name="split">
    /// Splits a mini-batch that would not fit the memory budget into parts (see <see cref="MemoryBudget"/>); null = never.
    /// The gradient of a split batch is accumulated over its parts, each part's loss weighted by its share of the rows,
    /// which equals the whole batch's gradient for losses that average over the rows of a batch (every SetML task loss).
    /// </param>
    public static TrainingResult Run(nn.Module model, SetTrainingOptions options, int trainingCount,
        Func<int[], Tensor> batchLoss, Func<double>? validationLoss = null, Action<string>? log = null, Func<int, int>? setSize = null,
        TrainingHooks? hooks = null, Func<int[], IReadOnlyList<int[]>>? split = null)
    {
        options.Validate();
        return Train(model, options, trainingCount, batchLoss, validationLoss, log, setSize, hooks, split);
    }

    /// <summary><see cref="Run"/> with options the caller has already validated (the trainers validate once per <c>Fit</c>).</summary>
    internal static TrainingResult Train(nn.Module model, SetTrainingOptions options, int trainingCount,
        Func<int[], Tensor> batchLoss, Func<double>? validationLoss, Action<string>? log, Func<int, int>? setSize,
        TrainingHooks? hooks, Func<int[], IReadOnlyList<int[]>>? split)
    {
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
        bool keepGood = options.OnDivergence == DivergenceHandling.KeepLastGoodWeights;
        var history = new LossHistory();
        double previousLoss = double.NaN;
        TrainingDivergedException? divergence = null;
        try
        {
            for (epoch = 1; epoch <= options.Epochs; epoch++)
            {
                model.train();
                Shuffle(order, rng);
                var epochBatches = Batches(order, options.BatchSize, options.GroupBatchesBySetSize ? setSize : null, rng).ToList();
                history.StartEpoch(epoch, epochBatches.Count);
                foreach (var idx in epochBatches)
                {
                    if (options.CancellationToken.IsCancellationRequested) break;
                    hooks?.CheckAlive?.Invoke();
                    optimizer.LearningRate = LearningRate(options, epoch - 1 + (double)history.Batches / epochBatches.Count);
                    using var scope = torch.NewDisposeScope();
                    optimizer.ZeroGrad();
                    var parts = split?.Invoke(idx) ?? new[] { idx };
                    foreach (var part in parts)
                    {
                        // A split batch: each part's graph is freed before the next part runs.
                        using var partScope = parts.Count > 1 ? torch.NewDisposeScope() : null;
                        Tensor loss;
                        try
                        {
                            loss = batchLoss(part);
                        }
                        catch (Exception e) when (e is not SetML.SetColumns.SetColumnException && HasNonFiniteWeights(parameters))
                        {
                            // The weights went NaN/∞ earlier: after a non-finite loss of this epoch (found in the history), or
                            // after a finite loss with a non-finite gradient, and the loss of this batch could not even be
                            // computed (e.g. an assignment over NaN costs).
                            divergence = history.Flush(options) ?? history.Diverged(options, double.NaN, optimizer.LearningRate, e);
                            break;
                        }
                        double share = (double)part.Length / idx.Length;
                        history.Add(loss, share, optimizer.LearningRate);
                        if (parts.Count > 1)
                        {
                            using var weight = share.ToScalar();
                            loss = loss.mul(weight);
                        }
                        loss.backward();
                    }
                    if (divergence != null) break;
                    if (options.GradientClipNorm > 0)
                        optimizer.ClipGradients(options.GradientClipNorm);
                    optimizer.Step();
                    history.EndBatch();
                    // The losses stay on the device (no host synchronization per step); they are read every
                    // LossHistory.FlushEvery batches and at the end of the epoch, where a non-finite one is found.
                    if (history.Pending >= LossHistory.FlushEvery && (divergence = history.Flush(options)) != null) break;
                    hooks?.BatchDone?.Invoke(new TrainingBatchProgress(epoch, options.Epochs, history.Batches, epochBatches.Count, previousLoss));
                }
                divergence ??= history.Flush(options);
                if (divergence != null)
                {
                    if (!keepGood) throw divergence;
                    if (bestState == null)
                        throw new TrainingDivergedException(divergence.Message + " OnDivergence is KeepLastGoodWeights, but no epoch had finished " +
                            "with finite losses (and, with validation, a finite validation loss), so there are no good weights to keep.",
                            divergence.Epoch, divergence.Batch, divergence.BatchesPerEpoch, divergence.Loss, divergence.LearningRate, divergence.InnerException);
                    log?.Invoke("WARNING: " + divergence.Message + $" Training stopped; the weights of epoch {bestEpoch} are kept (OnDivergence = KeepLastGoodWeights).");
                    break;
                }
                double trainLoss = history.EpochLoss;
                trainLosses.Add(trainLoss);
                previousLoss = trainLoss;

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
                else
                {
                    bestEpoch = epoch;
                    if (keepGood && !options.CancellationToken.IsCancellationRequested)
                    {
                        // Without validation, the last good weights are those at the end of the last finite epoch.
                        DisposeState(bestState);
                        bestState = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
                    }
                }

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
            if (bestState != null && (bestEpoch != trainLosses.Count || divergence != null))
            {
                using (torch.no_grad())
                    foreach (var (name, p) in model.state_dict()) p.copy_(bestState[name]);
            }
        }
        finally
        {
            history.Dispose();
            DisposeState(bestState);
            model.eval();
        }
        return new TrainingResult(trainLosses.Count, trainLosses, validLosses, bestEpoch) { Divergence = divergence };
    }

    /// <summary>
    /// The losses of the mini-batches of an epoch, kept on the device until <see cref="Flush"/> reads them all at once (one
    /// host synchronization instead of one per step). Reading replays them in order — each batch's loss is the sum of
    /// its parts' losses weighted by their share of the rows, in double precision — so the epoch loss and the divergence
    /// report (epoch, batch, last finite loss) are what a per-step read would give.
    /// </summary>
    private sealed class LossHistory : IDisposable
    {
        /// <summary>Batches after which pending losses are read even inside an epoch (a divergence is found at most this late).</summary>
        public const int FlushEvery = 64;

        private readonly List<(Tensor Loss, double Share, double LearningRate, int Batch)> _pending = new();
        private int _epoch, _batchesPerEpoch, _read;
        private double _sum, _first = double.NaN, _lastFinite = double.NaN;

        /// <summary>Mini-batches of the epoch that have finished (stepped).</summary>
        public int Batches { get; private set; }
        /// <summary>Mini-batches whose losses have not been read yet.</summary>
        public int Pending => Batches - _read;
        /// <summary>The mean loss of the epoch's batches (all read).</summary>
        public double EpochLoss => _read > 0 ? _sum / _read : double.NaN;

        public void StartEpoch(int epoch, int batches) { _epoch = epoch; _batchesPerEpoch = batches; Batches = 0; _read = 0; _sum = 0; }

        /// <summary>Keeps a part's loss (detached, outside the step's dispose scope) until the next read.</summary>
        public void Add(Tensor loss, double share, double learningRate)
            => _pending.Add((loss.detach().to_type(ScalarType.Float32).DetachFromDisposeScope(), share, learningRate, Batches));

        public void EndBatch() => Batches++;

        /// <summary>Reads the pending losses; returns the divergence at the first non-finite one, or null.</summary>
        public TrainingDivergedException? Flush(SetTrainingOptions options)
        {
            if (_pending.Count == 0) return null;
            float[] values;
            using (var scope = torch.NewDisposeScope())
                values = torch.stack(_pending.Select(p => p.Loss).ToArray()).CopyToArray<float>();
            var parts = _pending.ToArray();
            Clear();
            for (int i = 0; i < parts.Length;)
            {
                int batch = parts[i].Batch;
                double value = 0;
                for (; i < parts.Length && parts[i].Batch == batch; i++)
                {
                    double partValue = values[i];
                    if (!double.IsFinite(partValue)) return Diverged(options, partValue, parts[i].LearningRate, null, batch);
                    value += partValue * parts[i].Share;
                }
                if (batch >= Batches) break;        // the parts of a batch that did not finish (its loss could not be computed)
                if (double.IsNaN(_first)) _first = value;
                _lastFinite = value;
                _sum += value; _read++;
            }
            return null;
        }

        /// <summary>The divergence exception of batch <paramref name="batch"/> (default: the one running).</summary>
        public TrainingDivergedException Diverged(SetTrainingOptions options, double loss, double learningRate, Exception? inner, int? batch = null)
            => TrainingLoop.Diverged(options, _epoch, (batch ?? Batches) + 1, _batchesPerEpoch, loss, learningRate, _first, _lastFinite, inner);

        private void Clear()
        {
            foreach (var p in _pending) p.Loss.Dispose();
            _pending.Clear();
        }

        public void Dispose() => Clear();
    }

    /// <summary>
    /// The mean loss over <paramref name="rows"/> (a validation loss): batches of <paramref name="batchSize"/> rows, each
    /// split by <paramref name="split"/> (memory budget), each part's loss weighted by its row count.
    /// </summary>
    internal static double MeanLoss(int[] rows, int batchSize, Func<int[], IReadOnlyList<int[]>> split, Func<int[], Tensor> loss)
    {
        // The parts' losses stay on the device and are read once, then summed in order in double precision.
        var losses = new List<(Tensor Loss, int Rows)>();
        try
        {
            for (int start = 0; start < rows.Length; start += batchSize)
            {
                foreach (var part in split(rows.AsSpan(start, Math.Min(batchSize, rows.Length - start)).ToArray()))
                {
                    using var scope = torch.NewDisposeScope();
                    losses.Add((loss(part).detach().to_type(ScalarType.Float32).DetachFromDisposeScope(), part.Length));
                }
            }
            if (losses.Count == 0) return double.NaN;
            float[] values;
            using (var scope = torch.NewDisposeScope())
                values = torch.stack(losses.Select(l => l.Loss).ToArray()).CopyToArray<float>();
            double sum = 0;
            for (int i = 0; i < values.Length; i++) sum += values[i] * losses[i].Rows;
            return sum / rows.Length;
        }
        finally
        {
            foreach (var l in losses) l.Loss.Dispose();
        }
    }

    private static bool HasNonFiniteWeights(IEnumerable<Tensor> parameters)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return parameters.Any(p => !p.isfinite().all().item<bool>());
    }

    /// <summary>The exception for a non-finite loss, with the likely cause read from the loss history.</summary>
    private static TrainingDivergedException Diverged(SetTrainingOptions o, int epoch, int batch, int batches, double loss,
        double learningRate, double firstLoss, double lastFinite, Exception? inner)
    {
        string what = inner == null ? $"the loss became {(double.IsNaN(loss) ? "NaN" : loss > 0 ? "+Infinity" : "-Infinity")}" : $"the weights became non-finite and the loss could not be computed ({inner.GetType().Name}: {inner.Message})";
        string history = double.IsNaN(firstLoss) ? "no mini-batch had a finite loss yet"
            : $"first loss {firstLoss:G4}, last finite loss {lastFinite:G4}";
        string cause;
        if (double.IsNaN(firstLoss))
            cause = "the loss was not finite before any weight update, so the data is the likely cause: labels or set values of huge magnitude " +
                    "(float32 overflows above ~3.4e38, and squared errors of values above ~1e19), or labels the loss cannot take. " +
                    "Scale labels and set values (e.g. standardize them) before training.";
        else if (lastFinite > 100 * Math.Max(Math.Abs(firstLoss), 1e-6) || inner != null)
            cause = $"the loss grew from {firstLoss:G4} to {lastFinite:G4} before it broke, so the learning rate ({learningRate:G3}) is likely too high: " +
                    "lower LearningRate (e.g. 10×) or set GradientClipNorm (e.g. 1). Unscaled labels or set values make this more likely.";
        else
            cause = $"the loss had not grown, so a single step broke it: the learning rate ({learningRate:G3}) may be too high for this batch, or " +
                    "labels or set values are unscaled; lower LearningRate, set GradientClipNorm (e.g. 1), or standardize the data.";
        string keep = o.OnDivergence == DivergenceHandling.KeepLastGoodWeights ? ""
            : " Set OnDivergence = KeepLastGoodWeights to get the weights of the last good epoch instead of this exception.";
        return new TrainingDivergedException(
            $"Training diverged in epoch {epoch}, batch {batch} of {batches}: {what} ({history}). Likely cause: {cause}{keep}",
            epoch, batch, batches, loss, learningRate, inner);
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
