using Microsoft.ML;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Transforms;

/// <summary>
/// The one training template of every learned SetML model (as <c>Microsoft.ML.TorchSharp</c>'s
/// <c>TorchSharpBaseTrainer</c>). <see cref="Fit"/> owns the sequence; a task overrides small typed hooks:
/// <list type="number">
/// <item>validate the options (once) and the schema, and describe the model (<see cref="CreateSpec"/>);</item>
/// <item>read and validate the rows of the training data, then of the validation data (<see cref="ReadRows"/>; rows are
/// numbered in reading order, validation rows after the training rows);</item>
/// <item>hold out validation rows: the validation data, or a seeded <see cref="SetTrainingOptions.ValidationFraction"/>
/// (<see cref="SplitValidation"/>, the one place of that rule);</item>
/// <item>learn input statistics from the training rows (<see cref="Prepare"/>), check the memory budget (<see cref="CheckMemory"/>);</item>
/// <item>seed, create the typed network (<see cref="CreateNetwork"/>), move it to the device;</item>
/// <item>run <see cref="TrainingLoop"/> (batches split to the memory budget, early stopping, divergence handling, progress
/// and cancellation through <see cref="MLNetTrainingMonitor"/>) on <see cref="BatchLoss"/>;</item>
/// <item>wrap the network in a <see cref="SetModelTransformer"/>, whose output columns the spec declares.</item>
/// </list>
/// One instance trains once: the rows it reads are its state.
/// </summary>
/// <typeparam name="TSpec">The model specification the task produces.</typeparam>
/// <typeparam name="TNetwork">The network type that specification builds.</typeparam>
internal abstract class SetModelTrainer<TSpec, TNetwork>
    where TSpec : ModelSpec, INetworkSpec<TNetwork>
    where TNetwork : nn.Module
{
    private bool _used;

    protected SetModelTrainer(IHostEnvironment env, SetTrainingOptions options)
    {
        Env = env ?? throw new ArgumentNullException(nameof(env));
        Options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <summary>The ML.NET environment (logging goes to MLContext.Log).</summary>
    protected IHostEnvironment Env { get; }

    /// <summary>The training options.</summary>
    protected SetTrainingOptions Options { get; }

    // ───────────────────────────── hooks ─────────────────────────────

    /// <summary>Checks the training schema (input and label columns) and describes the model to train; no row is read yet.</summary>
    protected abstract TSpec CreateSpec(DataViewSchema schema);

    /// <summary>Name of the training run in the log.</summary>
    protected abstract string Title(TSpec spec);

    /// <summary>
    /// Reads and validates the rows of <paramref name="data"/> (<paramref name="what"/>: "training" or "validation"),
    /// appending them after the rows already read; returns how many were added. The validation data's schema is checked here.
    /// </summary>
    protected abstract int ReadRows(IChannel ch, IDataView data, TSpec spec, string what);

    /// <summary>The number of set elements of a row (memory budget, size grouping); null when the model reads no set.</summary>
    protected abstract Func<int, int>? SetSize { get; }

    /// <summary>Learns input/label statistics from the training rows and applies them to every row (standardization). Default: none.</summary>
    protected virtual void Prepare(IChannel ch, TSpec spec, int[] trainingRows) { }

    /// <summary>The model whose memory is checked against the budget (the auto-encoder featurizer trains more than it keeps).</summary>
    protected virtual ModelSpec MemorySpec(TSpec spec) => spec;

    /// <summary>
    /// Refuses, before anything is allocated, a row whose training step alone exceeds the memory budget. Default: training
    /// rows in reading order, then validation rows (named in the validation data when they come from there).
    /// </summary>
    protected virtual void CheckMemory(MemoryGuard guard, TSpec spec, int[] train, int[] valid, bool validationData)
    {
        if (SetSize is not { } size) return;
        long[] Sizes(int row) => new[] { (long)size(row) };
        var trainingOrder = validationData ? train : train.Concat(valid).OrderBy(r => r).ToArray();
        guard.CheckRows(trainingOrder.Length, k => Sizes(trainingOrder[k]), k => trainingOrder[k]);
        if (validationData)
            guard.CheckRows(valid.Length, k => Sizes(valid[k]), k => valid[k] - train.Length, " of the validation data");
    }

    /// <summary>Creates the network (called right after seeding, under <see cref="TorchRuntime.InitializationLock"/>). Default: the spec's.</summary>
    protected virtual TNetwork CreateNetwork(TSpec spec) => spec.CreateTypedNetwork();

    /// <summary>The module whose parameters are trained (default: the network itself).</summary>
    protected virtual nn.Module TrainedModule(TNetwork network) => network;

    /// <summary>The loss (scalar, differentiable, averaged over the rows) of the network on the given rows.</summary>
    protected abstract Tensor BatchLoss(TNetwork network, Device device, int[] rows);

    /// <summary>Whether the validation loss needs autograd (DSPN's inner gradient descent). Default: false.</summary>
    protected virtual bool ValidationNeedsGradients => false;

    /// <summary>Whether the task supports <see cref="SetModelOptions.GradientChunkSize"/> (set → vector models only).</summary>
    protected virtual bool SupportsGradientChunks => false;

    // ───────────────────────────── the template ─────────────────────────────

    /// <summary>Trains the model on <paramref name="data"/>, holding out <paramref name="validationData"/> when given.</summary>
    public SetModelTransformer Fit(IDataView data, IDataView? validationData)
    {
        if (_used) throw new InvalidOperationException("A SetModelTrainer trains once; create a new one per Fit.");
        _used = true;
        MLNetInternals.EnsureSupportedVersion();
        Options.Validate();
        var spec = CreateSpec(data.Schema);
        string title = Title(spec);
        if (Options is SetModelOptions { GradientChunkSize: > 0 } && !SupportsGradientChunks)
            throw new ArgumentException(
                $"GradientChunkSize (chunked unbiased-gradient training) applies to set → vector models with a mini-batch consistent encoder; {title} does not support it. Set it to 0.",
                "options");
        var host = Env.Register("SetML");
        using var ch = host.Start(title);

        int nTrain = ReadRows(ch, data, spec, "training");
        if (nTrain == 0) throw new InvalidOperationException($"No training rows: the data view given to Fit is empty ({title}).");
        int nValid = validationData == null ? 0 : ReadRows(ch, validationData, spec, "validation");
        var (train, valid) = validationData != null
            ? (Enumerable.Range(0, nTrain).ToArray(), Enumerable.Range(nTrain, nValid).ToArray())
            : SplitValidation(nTrain, Options.ValidationFraction, Options.Seed);
        if (train.Length == 0) throw new InvalidOperationException($"No training rows left after holding out {valid.Length} validation rows ({title}).");
        Prepare(ch, spec, train);

        var guard = new MemoryGuard(MemorySpec(spec), Options.MemoryBudgetBytes, training: true, "MemoryBudgetBytes in the options");
        CheckMemory(guard, spec, train, valid, validationData != null);
        ch.Info($"{train.Length} training rows, {valid.Length} validation rows.");

        var device = TorchRuntime.Resolve(Options.Device, MLNetInternals.GetDeviceSettings(Env));
        ch.Info($"Device: {device} (options.Device {Options.Device}).");
        TNetwork network;
        lock (TorchRuntime.InitializationLock)
        {
            TorchRuntime.Seed(Options.Seed);
            network = CreateNetwork(spec);
        }
        try
        {
            var trained = TrainedModule(network);
            if (device.type != DeviceType.CPU) trained.to(device);
            var size = SetSize;
            IReadOnlyList<int[]> Split(int[] rows) => size == null ? new[] { rows } : guard.Split(rows, r => new[] { (long)size(r) });
            int[] Rows(int[] idx) => Array.ConvertAll(idx, i => train[i]);
            double ValidationLoss()
            {
                using var grad = ValidationNeedsGradients ? torch.enable_grad() : null;
                return TrainingLoop.MeanLoss(valid, Options.BatchSize, Split, part => BatchLoss(network, device, part));
            }
            using var monitor = new MLNetTrainingMonitor(host, title);
            var result = TrainingLoop.Train(trained, Options, train.Length, idx => BatchLoss(network, device, Rows(idx)),
                valid.Length > 0 ? ValidationLoss : null, msg => ch.Info(msg), size == null ? null : i => size(train[i]), monitor.Hooks,
                size == null ? null : idx => guard.Split(idx, i => new[] { (long)size(train[i]) }));
            ch.Info($"Training finished after {result.EpochsRun} epochs (kept epoch {result.BestEpoch}).");
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return new SetModelTransformer(Env, spec, network, Options.Device, Options.PredictionBatchSize) { MemoryBudgetBytes = Options.MemoryBudgetBytes };
    }

    /// <summary>
    /// The held-out rows of a training set of <paramref name="rows"/> rows: a fraction, drawn with the seed
    /// <c>seed ^ 0x5e7</c> (so the split does not move when the shuffling of mini-batches does); none for a fraction of 0.
    /// </summary>
    internal static (int[] Train, int[] Valid) SplitValidation(int rows, double fraction, int seed)
    {
        var order = Enumerable.Range(0, rows).ToArray();
        int nValid = fraction > 0 ? (int)Math.Round(rows * fraction) : 0;
        if (nValid > 0) TrainingLoop.Shuffle(order, new Random(seed ^ 0x5e7));
        return (order.Skip(nValid).ToArray(), order.Take(nValid).ToArray());
    }

    /// <summary>The set input of a model, with the options' row rules.</summary>
    internal static ModelInput SetInput(string column, int elementDimension, bool allowEmpty, int maximumSetSize) => new()
    {
        ColumnName = column, Kind = ModelInputKind.Set, ElementDimension = elementDimension,
        Rules = new SetRules { AllowEmpty = allowEmpty, MaximumSetSize = maximumSetSize },
    };
}
