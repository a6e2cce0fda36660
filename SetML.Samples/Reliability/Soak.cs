using System.Diagnostics;
using Microsoft.ML;
using SetML.Models;
using SetML.Training;
using TorchSharp;

namespace SetML.Samples.Reliability;

/// <summary>One memory reading of a soak run.</summary>
/// <param name="Phase">training, predict-1 (one engine) or predict-8 (eight concurrent engines).</param>
/// <param name="Step">Epochs done (training) or predictions done (prediction, counted over both phases).</param>
/// <param name="WorkingSetMB">Process resident set (working set), MB.</param>
/// <param name="ManagedMB">Managed heap after a full collection, MB.</param>
/// <param name="LiveTensors">TorchSharp tensors alive in the process (<c>torch.Tensor.TotalCount</c>) after a full collection.</param>
public sealed record SoakReading(string Phase, long Step, double WorkingSetMB, double ManagedMB, long LiveTensors);

/// <summary>
/// The soak run (docs/reliability.md): trains a Set Transformer classifier for many epochs, then runs many
/// predictions through one <c>PredictionEngine</c> and then through eight concurrent ones, reading the process's
/// memory and TorchSharp's live tensor count along the way. Memory is flat when the readings after warm-up stay within
/// a few percent.
/// </summary>
public static class Soak
{
    /// <summary>A row: a set of 2-D points and a binary label.</summary>
    public sealed class Row
    {
        /// <summary>n·2 point coordinates.</summary>
        public float[] Points { get; set; } = Array.Empty<float>();
        /// <summary>True when some point has x + y &gt; 1.5.</summary>
        public bool Label { get; set; }
    }

    /// <summary>The prediction.</summary>
    public sealed class Prediction
    {
        /// <summary>Probability of the positive class.</summary>
        public float Probability { get; set; }
    }

    /// <summary>Deterministic rows: 1–12 points in [0, 1]².</summary>
    public static List<Row> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            int n = rng.Next(1, 13);
            var p = Enumerable.Range(0, 2 * n).Select(_ => (float)rng.NextDouble()).ToArray();
            return new Row { Points = p, Label = Enumerable.Range(0, n).Any(i => p[2 * i] + p[2 * i + 1] > 1.5f) };
        }).ToList();
    }

    /// <summary>Reads the process's memory after a full collection (finalizers run, so dropped tensors are freed).</summary>
    public static SoakReading Read(string phase, long step)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return new SoakReading(phase, step, p.WorkingSet64 / 1048576.0, GC.GetTotalMemory(false) / 1048576.0, torch.Tensor.TotalCount);
    }

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs (a reading after each), then runs <paramref name="predictions"/>
    /// predictions: half through one engine, half through eight concurrent engines (a reading every
    /// <paramref name="every"/> predictions). Returns the readings in order.
    /// </summary>
    public static List<SoakReading> Run(int epochs, int predictions, int every, int seed, TextWriter log, CancellationToken cancellation = default)
    {
        var samples = new List<SoakReading> { Read("start", 0) };
        // One intra-op thread: the model is tiny, and on a busy machine libtorch's spinning OpenMP threads make each
        // small forward pass wait for a core (docs/reliability.md). Restored at the end.
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try { return RunCore(samples, epochs, predictions, every, seed, log, cancellation); }
        finally { torch.set_num_threads(threads); }
    }

    private static List<SoakReading> RunCore(List<SoakReading> samples, int epochs, int predictions, int every, int seed, TextWriter log, CancellationToken cancellation)
    {
        var ml = new MLContext(seed);
        var train = ml.Data.LoadFromEnumerable(Rows(512, seed));
        var options = new SetModelOptions
        {
            Epochs = epochs, BatchSize = 32, LearningRate = 1e-3, Seed = seed, HeadHiddenSizes = new[] { 16 }, CancellationToken = cancellation,
            Encoder = new SetTransformerOptions { Width = 16, Heads = 2, Layers = 2, Seeds = 1 },
            Progress = new Synchronous(p =>
            {
                var s = Read("training", p.Epoch);
                samples.Add(s);
                if (p.Epoch % 10 == 0 || p.Epoch == p.Epochs) log.WriteLine($"  epoch {p.Epoch}: loss {p.TrainingLoss:F4}, working set {s.WorkingSetMB:F1} MB, live tensors {s.LiveTensors}");
            }),
        };
        using var model = ml.BinaryClassification.Trainers.SetClassification("Label", "Points", 2, options).Fit(train);
        var rows = Rows(1000, seed + 1);

        long done = 0;
        int single = predictions / 2;
        // The model outlives its engines: an engine created with the default options owns (and disposes) its transformer.
        var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        for (int i = 0; i < single; i++)
        {
            engine.Predict(rows[i % rows.Count]);
            if (++done % every == 0) Report("predict-1");
            if (i % 1000 == 0) cancellation.ThrowIfCancellationRequested();
        }
        engine.Dispose();

        // Eight engines predict concurrently in rounds of `every` predictions; the reading is taken between rounds, when
        // no prediction is in flight (a reading during one would count its temporary tensors).
        var engines = Enumerable.Range(0, 8).Select(_ => ml.Model.CreatePredictionEngine<Row, Prediction>(model, new PredictionEngineOptions { OwnsTransformer = false })).ToArray();
        for (long left = predictions - single; left > 0;)
        {
            int round = (int)Math.Min(left, every);
            Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellation }, e =>
            {
                for (int i = e; i < round; i += 8) engines[e].Predict(rows[(int)((done + i) % rows.Count)]);
            });
            left -= round;
            done += round;
            Report("predict-8");
        }
        foreach (var e in engines) e.Dispose();
        samples.Add(Read("end", done));
        return samples;

        void Report(string phase)
        {
            var s = Read(phase, done);
            samples.Add(s);
            log.WriteLine($"  {done} predictions ({phase}): working set {s.WorkingSetMB:F1} MB, managed {s.ManagedMB:F1} MB, live tensors {s.LiveTensors}");
        }
    }

    /// <summary>Largest relative change (in %) of a reading over <paramref name="samples"/>, relative to the first.</summary>
    public static double DriftPercent(IReadOnlyList<SoakReading> samples, Func<SoakReading, double> reading)
    {
        if (samples.Count == 0) return 0;
        double first = reading(samples[0]);
        return samples.Max(s => Math.Abs(reading(s) - first)) / Math.Max(first, 1e-9) * 100;
    }

    private sealed class Synchronous(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
