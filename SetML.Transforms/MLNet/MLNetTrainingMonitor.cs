using Microsoft.ML.Runtime;
using SetML.Persistence;
using SetML.Training;

namespace SetML.Transforms;

/// <summary>
/// Connects <see cref="TrainingLoop"/> to ML.NET the way ML.NET's own TorchSharp trainers are connected: an ML.NET
/// progress channel (epoch and mini-batch progress, training and validation loss; checkpointed after every epoch), and
/// ML.NET's <c>CheckAlive</c> before every mini-batch so that <c>MLContext.CancelExecution()</c> stops training.
/// </summary>
internal sealed class MLNetTrainingMonitor : IDisposable
{
    private readonly IProgressChannel _channel;
    private readonly object _lock = new();
    private TrainingBatchProgress _last;
    private double? _validationLoss;

    /// <param name="host">The trainer's host (registered from the MLContext, so it sees CancelExecution).</param>
    /// <param name="title">Name of the progress channel.</param>
    public MLNetTrainingMonitor(IHost host, string title)
    {
        _channel = host.StartProgressChannel(title);
        // Metrics: training loss (mean of the epoch so far is not known per batch, so the last batch's), validation loss.
        _channel.SetHeader(new ProgressHeader(new[] { "Training loss", "Validation loss" }, new[] { "epochs", "batches" }), e =>
        {
            TrainingBatchProgress p; double? v;
            lock (_lock) { p = _last; v = _validationLoss; }
            if (p.Epochs == 0) return;
            e.SetProgress(0, p.Epoch - 1, p.Epochs);
            e.SetProgress(1, p.Batch, p.Batches);
            e.SetMetric(0, p.Loss);
            if (v is double value) e.SetMetric(1, value);
        });
        Hooks = new TrainingHooks
        {
            CheckAlive = () => MLNetInternals.CheckAlive(host),
            BatchDone = p => { lock (_lock) _last = p; },
            EpochDone = p =>
            {
                lock (_lock) _validationLoss = p.ValidationLoss;
                // Checkpoint values: the metrics in header order, then the progress units.
                _channel.Checkpoint(p.TrainingLoss, p.ValidationLoss, p.Epoch);
            },
        };
    }

    /// <summary>The hooks to pass to <see cref="TrainingLoop.Run"/>.</summary>
    public TrainingHooks Hooks { get; }

    /// <summary>Closes the progress channel.</summary>
    public void Dispose() => _channel.Dispose();
}
