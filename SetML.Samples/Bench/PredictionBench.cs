using System.Diagnostics;
using Microsoft.ML;
using SetML.Models;
using SetML.Training;

namespace SetML.Samples.Bench;

/// <summary>
/// <c>predict</c>: <see cref="PredictionEngine{TSrc, TDst}"/> on a trained Deep Sets classifier (sets of 33 elements of
/// d = 3, 3 classes), as a new user would call it: time per prediction on one thread; two threads with one engine each
/// against one thread (alternating pairs; target ≥ 1.6× the throughput); and one thread while two busy-loop threads
/// occupy the cores against the same thread on a quiet machine (alternating pairs; target ≤ 3× the latency). The two-engine
/// row also reports <see cref="MachineScaling"/>, measured before each of its pairs: what the machine gave a second thread
/// of plain memory-bound work at the same time.
/// </summary>
public sealed class PredictionBench : BenchSection
{
    /// <inheritdoc />
    public override string Name => "predict";

    /// <inheritdoc />
    public override string Description => "PredictionEngine on a Deep Sets classifier (33 × 3): 1 thread, 2 engines on 2 threads, under 2 busy neighbours";

    /// <inheritdoc />
    public override IEnumerable<BenchRow> Run(BenchOptions options, TextWriter log)
    {
        TorchSharp.torch.set_num_threads(options.Threads);
        double window = options.Quick ? 0.01 : 0.12;   // seconds per measurement
        var ml = new MLContext(0);
        var rows = Rows(options.Quick ? 120 : 600);
        var model = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Row.Class))
            .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", nameof(Row.Points), 3, new SetModelOptions
            {
                Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 64 }, LatentDimension = 64, RhoHiddenSizes = new[] { 64 }, EmbeddingDimension = 32 },
                Epochs = options.Quick ? 1 : 3, Seed = 0,
            }))
            .Fit(ml.Data.LoadFromEnumerable(rows));
        var engines = Enumerable.Range(0, 2).Select(_ => ml.Model.CreatePredictionEngine<Row, Prediction>(model)).ToArray();

        // µs of wall-clock time per prediction of `threads` threads, each predicting with its own engine until the same
        // deadline: the throughput of the engines together over a fixed window. (A fixed count per thread would time the
        // slower thread's last rows with the other core idle.)
        double MicrosecondsPerPrediction(int threads)
        {
            using var start = new Barrier(threads + 1);
            long total = 0, begin = 0, deadline = 0, end = 0;
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                long count = 0;
                while (Stopwatch.GetTimestamp() < Volatile.Read(ref deadline))
                {
                    engines[t].Predict(rows[(int)((count + 97 * t) % rows.Count)]);
                    count++;
                }
                long stopped = Stopwatch.GetTimestamp();
                Interlocked.Add(ref total, count);
                lock (start) end = Math.Max(end, stopped);
            })).ToList();
            workers.ForEach(w => w.Start());
            begin = Stopwatch.GetTimestamp();
            Volatile.Write(ref deadline, begin + (long)(window * Stopwatch.Frequency));
            start.SignalAndWait();
            workers.ForEach(w => w.Join());
            return (end - begin) * 1e6 / Stopwatch.Frequency / Math.Max(1, total);
        }

        // Warm-up, not timed: the engines' code reaches its optimised tier (tiered JIT) before the first pair.
        MicrosecondsPerPrediction(2);
        MicrosecondsPerPrediction(1);
        // The machine's own two-thread scaling of memory-bound work, measured right before each two-engine measurement.
        var control = new List<double>();
        var two = Paired(options, $"2 threads × 1 engine, libtorch {options.Threads} thread(s)", "µs/prediction",
            () => { control.Add(MachineScaling.TwoThreads(options.Quick ? 100_000 : 2_000_000)); return MicrosecondsPerPrediction(2); },
            () => MicrosecondsPerPrediction(1), "the same engine on 1 thread");
        double one = two.Baseline ?? MicrosecondsPerPrediction(1);
        yield return new BenchRow(Name, $"1 thread × 1 engine, libtorch {options.Threads} thread(s)", "µs/prediction", one, null, "",
            $"{1e6 / one:N0} predictions/s (target ≥ 15,000: {(1e6 / one >= 15_000 ? "met" : "NOT met")})") { SetMLPairs = two.BaselinePairs };
        double scaling = 1 / (two.TimeRatio ?? 1);
        double machine = Median(control);
        yield return two with
        {
            Note = $"{1e6 / two.SetML:N0} predictions/s in total, {scaling:F2}× one thread (target ≥ 1.6: {(scaling >= 1.6 ? "met" : "NOT met")}); " +
                   $"machine control in the same pairs: a pointer chase with nothing shared scaled {machine:F2}× (range {control.Min():F2}–{control.Max():F2}){(machine < 1.6 ? ", so the machine itself did not scale memory-bound work at the time" : "")}",
        };

        var busy = Paired(options, $"1 thread under 2 busy-loop threads, libtorch {options.Threads} thread(s)", "µs/prediction",
            () => WithBusyNeighbours(2, () => MicrosecondsPerPrediction(1)), () => MicrosecondsPerPrediction(1), "the same thread, no busy neighbours");
        yield return busy with { Note = $"latency {busy.TimeRatio:F2}× quiet (target ≤ 3: {(busy.TimeRatio <= 3 ? "met" : "NOT met")})" };
    }

    /// <summary>Runs <paramref name="measure"/> while <paramref name="threads"/> threads spin on the CPU.</summary>
    private static double WithBusyNeighbours(int threads, Func<double> measure)
    {
        int stop = 0;
        var spinners = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            long x = 0;
            while (Volatile.Read(ref stop) == 0) x++;
            GC.KeepAlive(x);
        }) { IsBackground = true }).ToList();
        spinners.ForEach(s => s.Start());
        try
        {
            Thread.Sleep(20);
            return measure();
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            spinners.ForEach(s => s.Join());
        }
    }

    /// <summary>Sets of 33 points in [0, 1]³; the class is the sum of the first coordinates, in three bands.</summary>
    internal static List<Row> Rows(int count)
    {
        var rng = new Random(0);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var p = new float[33 * 3];
            for (int j = 0; j < p.Length; j++) p[j] = (float)rng.NextDouble();
            float s = 0;
            for (int k = 0; k < 33; k++) s += p[3 * k];
            return new Row { Points = p, Class = s < 15.5f ? "low" : s < 17.5f ? "mid" : "high" };
        }).ToList();
    }

    /// <summary>An input row: a flattened set of 33 three-dimensional points and its class.</summary>
    public sealed class Row
    {
        /// <summary>33 × 3 coordinates, element-major.</summary>
        public float[] Points { get; set; } = Array.Empty<float>();

        /// <summary>The class name.</summary>
        public string Class { get; set; } = "";
    }

    /// <summary>The predicted class key.</summary>
    public sealed class Prediction
    {
        /// <summary>Predicted label key.</summary>
        public uint PredictedLabel { get; set; }
    }
}
