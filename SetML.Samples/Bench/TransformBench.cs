using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;

namespace SetML.Samples.Bench;

/// <summary>
/// <c>transform</c>: <see cref="SetModelTransformer.Transform"/> over 10,000 sets read through an <see cref="IDataView"/>
/// cursor (validation, batching, padding, forward, output columns) against the raw batched forward on the same rows —
/// the network and output extraction on input batches padded beforehand, the least a batched prediction can cost.
/// Model: a Deep Sets classifier with the library's default encoder on sets of 33 elements of d = 3. Target: ≤ 1.10×.
/// </summary>
public sealed class TransformBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "transform";

    /// <inheritdoc />
    public override string Description => "Transform over 10,000 sets (Deep Sets default, 33 × 3) vs the raw batched forward on pre-padded batches";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        torch.set_num_threads(options.Threads);
        int count = options.Quick ? 500 : 10_000;
        var ml = new MLContext(0);
        var train = PredictionBench.Rows(options.Quick ? 120 : 600);
        var model = ml.Transforms.Conversion.MapValueToKey("Label", nameof(PredictionBench.Row.Class))
            .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", nameof(PredictionBench.Row.Points), 3,
                new SetModelOptions { Epochs = 1, Seed = 0 }))
            .Fit(ml.Data.LoadFromEnumerable(train));
        var transformer = model.LastTransformer;
        var rows = PredictionBench.Rows(count);
        var view = ml.Data.LoadFromEnumerable(rows);

        // SetML: what a user runs — Transform, then a cursor reading every output column of every row.
        double TransformMs()
        {
            var watch = Stopwatch.StartNew();
            var scored = transformer.Transform(view);
            var columns = transformer.OutputColumnNames.Select(n => scored.Schema[n]).ToArray();
            using var cursor = scored.GetRowCursor(columns);
            var label = cursor.GetGetter<uint>(scored.Schema["PredictedLabel"]);
            var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
            uint key = 0; VBuffer<float> s = default;
            long read = 0;
            while (cursor.MoveNext()) { label(ref key); score(ref s); read++; }
            if (read != count) throw new InvalidOperationException($"read {read} rows, expected {count}");
            return watch.Elapsed.TotalMilliseconds;
        }

        // Baseline: the same batches, padded before the clock starts; only the forward step and the extraction run.
        var inputs = transformer.Spec.Inputs;
        var batches = rows.Chunk(transformer.PredictionBatchSize)
            .Select(chunk => new ModelInputBatch(inputs, new[] { (IReadOnlyList<float[]>)chunk.Select(r => r.Points).ToList() }))
            .ToList();
        try
        {
            double RawMs()
            {
                var watch = Stopwatch.StartNew();
                using var inference = torch.inference_mode();   // the mode SetML predicts in (DSPN aside)
                foreach (var batch in batches) transformer.Predictor.Predict(transformer.Network, batch);
                return watch.Elapsed.TotalMilliseconds;
            }
            var row = Paired(options, $"{count:N0} sets, batches of {transformer.PredictionBatchSize}, {options.Threads} thread(s)", "ms",
                TransformMs, () => RawMs(), "raw batched forward (pre-padded)");
            yield return row with { Note = $"{count / row.SetML * 1e3:N0} sets/s through Transform; {row.TimeRatio:F2}× the raw forward (target ≤ 1.10: {(row.TimeRatio <= 1.10 ? "met" : "NOT met")})" };
        }
        finally
        {
            foreach (var b in batches) b.Dispose();
        }
    }
}
