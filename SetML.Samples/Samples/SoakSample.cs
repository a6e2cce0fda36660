using SetML.Samples.Infrastructure;
using SetML.Samples.Reliability;

namespace SetML.Samples.Samples;

/// <summary>
/// <c>soak</c>: long training and many predictions (including eight concurrent prediction engines) with the process's
/// memory and TorchSharp's live tensor count read along the way (docs/reliability.md).
/// </summary>
public sealed class SoakSample : Sample
{
    /// <inheritdoc />
    public override string Name => "soak";

    /// <inheritdoc />
    public override string Description => "Soak: 50 epochs and 100,000 predictions (8 concurrent engines) with native memory read along the way";

    /// <inheritdoc />
    public override int DefaultEpochs => 50;

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> Options => new[]
    {
        ("--predictions", "number of predictions (default 100000; --quick: 1000): half through one engine, half through 8 concurrent engines"),
    };

    /// <inheritdoc />
    public override string Help =>
        "Trains a small Set Transformer classifier (SAB×2, width 16) on 512 point sets for --epochs epochs, then predicts\n" +
        "through one PredictionEngine and then through eight concurrent ones. After every epoch and every 5,000 predictions\n" +
        "(after a full GC) it reads the working set, the managed heap and torch.Tensor.TotalCount. Reports the drift of the\n" +
        "working set after warm-up (the first reading after 10% of the predictions) — flat means within 5 % — and of the live\n" +
        "tensor count (flat means unchanged).";

    /// <inheritdoc />
    public override int Run(SampleContext context)
    {
        var o = context.Out;
        int predictions = (int)Math.Min(int.MaxValue, context.Option("--predictions", context.Quick ? 1000 : 100_000));
        if (predictions < 16)
        {
            o.WriteLine($"Error: --predictions needs a whole number ≥ 16, got {predictions}.");
            return SampleCli.UsageError;
        }
        int every = Math.Max(1, predictions / 20);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var samples = Soak.Run(context.Epochs, predictions, every, context.Seed, o, context.Cancellation);
        var training = samples.Where(s => s.Phase == "training").ToList();
        var predicting = samples.Where(s => s.Phase is "predict-1" or "predict-8" or "end").ToList();
        var afterWarmUp = predicting.Skip(Math.Min(2, Math.Max(0, predicting.Count - 1))).ToList();
        var trainingAfterWarmUp = training.Skip(Math.Min(Math.Max(1, training.Count / 10), Math.Max(0, training.Count - 1))).ToList();
        double trainDrift = Soak.DriftPercent(trainingAfterWarmUp, s => s.WorkingSetMB);
        double predictDrift = Soak.DriftPercent(afterWarmUp, s => s.WorkingSetMB);
        long tensorsTraining = trainingAfterWarmUp.Count > 0 ? trainingAfterWarmUp.Max(s => s.LiveTensors) - trainingAfterWarmUp.Min(s => s.LiveTensors) : 0;
        long tensorsPredicting = afterWarmUp.Count > 0 ? afterWarmUp.Max(s => s.LiveTensors) - afterWarmUp.Min(s => s.LiveTensors) : 0;

        o.WriteLine();
        o.WriteLine("| phase | readings | working set first → last (MB) | max drift after warm-up | live tensors first → last (range) |");
        o.WriteLine("| --- | ---: | --- | ---: | --- |");
        Row("training (after the first 10 % of epochs)", trainingAfterWarmUp, trainDrift, tensorsTraining);
        Row("prediction (after the first 10 % of predictions)", afterWarmUp, predictDrift, tensorsPredicting);
        o.WriteLine();
        o.WriteLine($"{context.Epochs} epochs, {predictions} predictions in {watch.Elapsed.TotalSeconds:0} s; start {samples[0].WorkingSetMB:F1} MB, end {samples[^1].WorkingSetMB:F1} MB.");
        bool flat = trainDrift <= 5 && predictDrift <= 5 && tensorsTraining == 0 && tensorsPredicting == 0;
        o.WriteLine(flat ? "Memory is flat (working set within 5 % after warm-up, live tensor count unchanged)." : "Memory is NOT flat by the 5 % / no-tensor-growth rule; see the readings above.");
        context.Results.Add("soak", new Dictionary<string, double>
        {
            ["training_drift_percent"] = Math.Round(trainDrift, 2),
            ["prediction_drift_percent"] = Math.Round(predictDrift, 2),
            ["training_tensor_range"] = tensorsTraining,
            ["prediction_tensor_range"] = tensorsPredicting,
            ["end_working_set_mb"] = Math.Round(samples[^1].WorkingSetMB, 1),
        });
        return 0;

        void Row(string name, List<SoakReading> s, double drift, long tensors)
        {
            if (s.Count == 0) return;
            o.WriteLine($"| {name} | {s.Count} | {s[0].WorkingSetMB:F1} → {s[^1].WorkingSetMB:F1} | {drift:F2} % | {s[0].LiveTensors} → {s[^1].LiveTensors} ({tensors}) |");
        }
    }
}
