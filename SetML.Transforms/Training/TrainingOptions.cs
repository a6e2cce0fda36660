using TorchSharp;

namespace SetML.Training;

/// <summary>Where a SetML network trains and predicts. The numbers are stored in saved models and never change.</summary>
public enum SetDevice
{
    /// <summary>
    /// The default: the <c>MLContext</c> decides, as for ML.NET's own TorchSharp trainers. <c>MLContext.GpuDeviceId</c>
    /// null → the CPU; set → that CUDA device when CUDA is available, otherwise the CPU if <c>MLContext.FallbackToCpu</c>
    /// is true and an <see cref="InvalidOperationException"/> if it is false.
    /// </summary>
    Auto = 2,
    /// <summary>The CPU (always available), whatever the MLContext says.</summary>
    Cpu = 0,
    /// <summary>
    /// An NVIDIA GPU through CUDA, whatever the MLContext says (device <c>MLContext.GpuDeviceId</c>, or 0 when unset);
    /// requires a CUDA TorchSharp backend (docs/gpu.md). Fails clearly without one, never falls back.
    /// </summary>
    Cuda = 1,
}

/// <summary>
/// The device settings of an <c>MLContext</c> (<c>MLContext.GpuDeviceId</c>, <c>MLContext.FallbackToCpu</c>), which
/// <see cref="SetDevice.Auto"/> follows.
/// </summary>
/// <param name="GpuDeviceId">The CUDA device to use; null = the CPU.</param>
/// <param name="FallbackToCpu">Use the CPU when <paramref name="GpuDeviceId"/> is set but CUDA is not available (else an error).</param>
public readonly record struct DeviceSettings(int? GpuDeviceId, bool FallbackToCpu);

/// <summary>Learning-rate schedule (Step changes at epoch boundaries, Cosine after every mini-batch).</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant learning rate.</summary>
    Constant,
    /// <summary>Multiply by <see cref="SetTrainingOptions.StepGamma"/> every <see cref="SetTrainingOptions.StepSize"/> epochs.</summary>
    Step,
    /// <summary>Cosine annealing from the learning rate towards 0 over all epochs, updated after every mini-batch.</summary>
    Cosine,
}

/// <summary>What <c>Fit</c> does when the training loss becomes NaN or ±∞ (see <see cref="SetTrainingOptions.OnDivergence"/>).</summary>
public enum DivergenceHandling
{
    /// <summary><c>Fit</c> throws <see cref="TrainingDivergedException"/> (epoch, batch, likely cause); no model is returned.</summary>
    Throw,
    /// <summary>
    /// Training stops at the diverging mini-batch and <c>Fit</c> returns the model with the last good weights: those of
    /// the best validation epoch when a validation set is used (as early stopping keeps), otherwise those at the end of
    /// the last epoch whose every mini-batch loss was finite. A warning with the same text as the exception goes to
    /// <c>MLContext.Log</c>. When divergence happens before any good epoch, <c>Fit</c> throws as with <see cref="Throw"/>.
    /// </summary>
    KeepLastGoodWeights,
}

/// <summary>Progress of a training run, reported after every epoch.</summary>
/// <param name="Epoch">1-based epoch just finished.</param>
/// <param name="Epochs">Total epochs planned.</param>
/// <param name="TrainingLoss">Mean training loss of the epoch.</param>
/// <param name="ValidationLoss">Validation loss, when a validation set is used.</param>
/// <param name="Elapsed">Wall time since training started.</param>
/// <param name="Remaining">Estimated wall time left.</param>
public readonly record struct TrainingProgress(int Epoch, int Epochs, double TrainingLoss, double? ValidationLoss, TimeSpan Elapsed, TimeSpan Remaining);

/// <summary>
/// Options shared by every TorchSharp-backed SetML component (featurizers and trainers). Defaults are documented
/// on each property.
/// </summary>
public class SetTrainingOptions
{
    /// <summary>Random seed for weights, shuffling and dropout. Same seed → identical weights on CPU. Default: 0.</summary>
    public int Seed { get; set; }
    /// <summary>
    /// Device to train and predict on. Default: <see cref="SetDevice.Auto"/> = what the MLContext says
    /// (<c>MLContext.GpuDeviceId</c> and <c>MLContext.FallbackToCpu</c>, as ML.NET's TorchSharp trainers; the CPU when
    /// they are unset). <see cref="SetDevice.Cpu"/> or <see cref="SetDevice.Cuda"/> here win over the MLContext.
    /// </summary>
    public SetDevice Device { get; set; } = SetDevice.Auto;
    /// <summary>Passes over the training data. Default: 20.</summary>
    public int Epochs { get; set; } = 20;
    /// <summary>Sets per mini-batch. Default: 32.</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>Adam learning rate. Default: 1e-3.</summary>
    public double LearningRate { get; set; } = 1e-3;
    /// <summary>Decoupled weight decay (AdamW). Default: 0.</summary>
    public double WeightDecay { get; set; }
    /// <summary>
    /// Learning-rate schedule. Default: <see cref="LearningRateSchedule.Cosine"/> (from the learning rate to 0 over
    /// <see cref="Epochs"/>, after every mini-batch), as the Deep Sets and Set Transformer references train. Measured on
    /// the <c>point-sets</c> benchmark (20,000 training sets, 5 epochs, Deep Sets max with its defaults): 0.7249 test
    /// accuracy against 0.7174 with the former <see cref="LearningRateSchedule.Constant"/>; ISAB + PMA at 5,000 sets:
    /// 0.6250 against 0.6155 (docs/results.md). With early stopping the decay still spans <see cref="Epochs"/>.
    /// </summary>
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Cosine;
    /// <summary>Epochs between decays for <see cref="LearningRateSchedule.Step"/>. Default: 10.</summary>
    public int StepSize { get; set; } = 10;
    /// <summary>Decay factor for <see cref="LearningRateSchedule.Step"/>. Default: 0.5.</summary>
    public double StepGamma { get; set; } = 0.5;
    /// <summary>Clip the global gradient norm to this value; 0 disables clipping. Default: 0.</summary>
    public double GradientClipNorm { get; set; }
    /// <summary>Fraction of the training rows held out for validation (0 = none) when no validation data is given. Default: 0.</summary>
    public double ValidationFraction { get; set; }
    /// <summary>Stop after this many epochs without validation improvement and restore the best weights; 0 disables. Default: 0.</summary>
    public int EarlyStoppingPatience { get; set; }
    /// <summary>
    /// Group training sets of similar size into the same mini-batch, so less compute goes to padding: each epoch's
    /// shuffled order is cut into windows of 50 batches, each window is sorted by set size and cut into batches, and the
    /// batches are shuffled. Same seed → same batches. Used where the trainer knows the set sizes (set inputs). Default:
    /// false (plain shuffling).
    /// </summary>
    public bool GroupBatchesBySetSize { get; set; }
    /// <summary>
    /// What happens when a mini-batch loss becomes NaN or ±∞ (too high a learning rate, unscaled labels or set values).
    /// Default: <see cref="DivergenceHandling.Throw"/> — <c>Fit</c> throws <see cref="TrainingDivergedException"/>, whose
    /// message names the epoch, the batch, the loss history and the likely cause; the exception holds no native memory,
    /// and no half-trained model is returned, even with early stopping on (a diverged run usually means a setting to fix).
    /// <see cref="DivergenceHandling.KeepLastGoodWeights"/>: training stops there and <c>Fit</c> returns the model with the
    /// weights of the best validation epoch (with validation, the weights early stopping would keep) or else of the last
    /// epoch that finished with finite losses, and logs a warning. Without validation this costs one copy of the
    /// weights per epoch.
    /// </summary>
    public DivergenceHandling OnDivergence { get; set; } = DivergenceHandling.Throw;
    /// <summary>
    /// The memory one forward pass may use, in bytes, at <c>Fit</c> (a training step needs
    /// <see cref="MemoryBudget.TrainingFactor"/> × its forward pass) and at prediction (copied to
    /// <c>SetModelTransformer.MemoryBudgetBytes</c>). Before a batch becomes tensors, the model's estimate of its forward
    /// memory — linear in the set size for Deep Sets, ISAB, PMA, pooling and slot encoders, quadratic for SAB and relation
    /// networks — is compared with it: a batch over the budget is split (the results do not change), and a single set
    /// over it is refused with a <c>SetColumnException</c> (rule <c>MemoryBudget</c>) naming the column, the row, the set
    /// size and how large a set fits, before any allocation. 0 = <see cref="MemoryBudget.DefaultBytes"/>, half of the
    /// memory available to the process. Default: 0.
    /// </summary>
    public long MemoryBudgetBytes { get; set; }
    /// <summary>Batch size used at prediction time by the transformer. Default: 64.</summary>
    public int PredictionBatchSize { get; set; } = 64;
    /// <summary>Receives a <see cref="TrainingProgress"/> after every epoch (in addition to MLContext.Log). Not serialized.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IProgress<TrainingProgress>? Progress { get; set; }
    /// <summary>
    /// Cancels training between mini-batches (the model trained so far is kept). Not serialized. ML.NET's own
    /// cancellation (<c>MLContext.CancelExecution()</c>, which ML.NET 5 keeps internal and AutoML uses to stop a trial) is
    /// also checked before every mini-batch; it makes <c>Fit</c> throw <see cref="OperationCanceledException"/>, as ML.NET's
    /// trainers do.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Checks the values and throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid one.</summary>
    public virtual void Validate()
    {
        if (Epochs < 0) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be ≥ 0.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be ≥ 1.");
        if (PredictionBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(PredictionBatchSize), PredictionBatchSize, "PredictionBatchSize must be ≥ 1.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be > 0.");
        if (WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be ≥ 0.");
        if (ValidationFraction < 0 || ValidationFraction >= 1) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "ValidationFraction must be in [0, 1).");
        if (MemoryBudgetBytes < 0) throw new ArgumentOutOfRangeException(nameof(MemoryBudgetBytes), MemoryBudgetBytes, "MemoryBudgetBytes must be ≥ 0 (0 = half of the available memory).");
        if (GradientClipNorm < 0) throw new ArgumentOutOfRangeException(nameof(GradientClipNorm), GradientClipNorm, "GradientClipNorm must be ≥ 0.");
        if (Schedule == LearningRateSchedule.Step && (StepSize < 1 || StepGamma <= 0))
            throw new ArgumentOutOfRangeException(nameof(StepSize), "Step schedule needs StepSize ≥ 1 and StepGamma > 0.");
    }
}

/// <summary>Resolves <see cref="SetDevice"/> to a TorchSharp device and sets up determinism.</summary>
public static class TorchRuntime
{
    /// <summary>Serializes seeding + weight initialization, so concurrent trainings in one process stay deterministic.</summary>
    public static readonly object InitializationLock = new();

    /// <summary>The TorchSharp device for <paramref name="device"/> under the MLContext's <paramref name="settings"/>.</summary>
    /// <exception cref="InvalidOperationException">CUDA was asked for (by the options, or by the MLContext without
    /// <see cref="DeviceSettings.FallbackToCpu"/>) but is not available, or the GPU index does not exist.</exception>
    public static torch.Device Resolve(SetDevice device, DeviceSettings settings = default)
    {
        switch (device)
        {
            case SetDevice.Cpu: return torch.CPU;
            case SetDevice.Cuda:
                if (!torch.cuda.is_available())
                    throw new InvalidOperationException(
                        "SetDevice.Cuda was requested, but CUDA is not available: this build uses a CPU libtorch, or no NVIDIA GPU/driver was found. " +
                        "Build with -p:SetMLTorchBackend=cuda-linux (or cuda-windows), or use SetDevice.Auto / SetDevice.Cpu. See docs/gpu.md.");
                return Gpu(settings.GpuDeviceId ?? 0);
            case SetDevice.Auto:
                if (settings.GpuDeviceId is not int id) return torch.CPU;
                if (torch.cuda.is_available()) return Gpu(id);
                if (settings.FallbackToCpu) return torch.CPU;
                throw new InvalidOperationException(
                    $"MLContext.GpuDeviceId is {id} but CUDA is not available (a CPU libtorch, or no NVIDIA GPU/driver), and MLContext.FallbackToCpu is false. " +
                    "Set MLContext.FallbackToCpu = true to train on the CPU instead, build with -p:SetMLTorchBackend=cuda-linux (or cuda-windows), " +
                    "or set the options' Device to SetDevice.Cpu. See docs/gpu.md.");
            default: throw new ArgumentOutOfRangeException(nameof(device), device, null);
        }
    }

    private static torch.Device Gpu(int index)
    {
        int count = torch.cuda.device_count();
        if (index < 0 || index >= count)
            throw new InvalidOperationException($"GPU {index} was requested (MLContext.GpuDeviceId), but this machine has {count} CUDA device(s): 0 to {count - 1}.");
        return new torch.Device(DeviceType.CUDA, index);
    }

    /// <summary>
    /// What SetML did about the kernels of libtorch's MKL in this process: on an AMD processor with AVX-512, SetML lets
    /// MKL use its AVX-512 matrix-product kernels instead of its AVX2 path for AMD (about 2.4× faster products on Zen 5);
    /// the sentence says whether that was applied, or why not (another processor, <c>SETML_MKL_AVX512=0</c>, MKL already
    /// initialised before SetML was loaded, ...). See docs/performance.md.
    /// </summary>
    public static string MklCodePath => Training.MklCodePath.Adjustment.State;

    /// <summary>
    /// What SetML did about libtorch's CPU dispatch stubs in this process: libtorch 2.x re-chooses every operation's CPU
    /// kernel on every call and writes a process-wide variable each time, which makes threads that run operations
    /// together slow each other down; SetML corrects the one instruction so that each stub keeps its choice. The
    /// sentence says whether that was applied, or why not (libtorch loaded before SetML, another libtorch build,
    /// <c>SETML_DISPATCH_STUB_CACHE=0</c>, ...). See docs/performance.md.
    /// </summary>
    public static string DispatchStubCache => Training.DispatchStubCache.Adjustment.State;

    /// <summary>Seeds TorchSharp's global generators (CPU and CUDA).</summary>
    public static void Seed(int seed)
    {
        torch.random.manual_seed(seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(seed);
    }
}
