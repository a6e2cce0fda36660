// PredictionEngine throughput of a small trained Deep Sets classifier (sets of 33 points, d = 3, 3 classes):
// predictions/s with one engine on one thread, then with N threads each owning an engine over the same model.
// Usage: dotnet run -c Release -- [threads = 2] [seconds per measurement = 3]. It also prints the TorchSharp tensors and
// managed bytes one prediction creates. Set OMP_NUM_THREADS=1 so that the
// engines do not oversubscribe the cores with libtorch intra-op threads.
using System.Diagnostics;
using Microsoft.ML;
using SetML;
using SetML.Models;
using SetML.Training;

int threads = int.Parse(args.Length > 0 ? args[0] : "2");
double seconds = double.Parse(args.Length > 1 ? args[1] : "3", System.Globalization.CultureInfo.InvariantCulture);
var ml = new MLContext(0);
var rng = new Random(0);
var rows = Enumerable.Range(0, 600).Select(_ =>
{
    var p = new float[33 * 3];
    for (int j = 0; j < p.Length; j++) p[j] = (float)rng.NextDouble();
    float s = 0; for (int k = 0; k < 33; k++) s += p[3 * k];
    return new Row { Points = p, Class = s < 15.5f ? "low" : s < 17.5f ? "mid" : "high" };
}).ToList();
var model = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Row.Class))
    .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Points", 3, new SetModelOptions
    {
        Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 64 }, LatentDimension = 64, RhoHiddenSizes = new[] { 64 }, EmbeddingDimension = 32 },
        Epochs = 3, Seed = 0,
    }))
    .Fit(ml.Data.LoadFromEnumerable(rows));

double Run(int n)
{
    var engines = Enumerable.Range(0, n).Select(_ => ml.Model.CreatePredictionEngine<Row, Prediction>(model)).ToArray();
    foreach (var e in engines) for (int i = 0; i < 50; i++) e.Predict(rows[i]);   // warm-up
    long total = 0;
    var start = new Barrier(n);
    var watch = new Stopwatch();
    var workers = engines.Select((e, t) => new Thread(() =>
    {
        start.SignalAndWait();
        if (t == 0) watch.Start();
        long count = 0;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed.TotalSeconds < seconds) e.Predict(rows[(int)(count++ % rows.Count)]);
        Interlocked.Add(ref total, count);
    })).ToList();
    workers.ForEach(w => w.Start());
    workers.ForEach(w => w.Join());
    return total / watch.Elapsed.TotalSeconds;
}

Console.WriteLine($"OMP_NUM_THREADS={Environment.GetEnvironmentVariable("OMP_NUM_THREADS") ?? "(unset)"}, torch threads {TorchSharp.torch.get_num_threads()}");
Console.WriteLine($"dispatch stubs: {TorchRuntime.DispatchStubCache}");
{
    // What one prediction costs besides time: TorchSharp tensors created (each a finalizable object that updates
    // process-wide counters: the points where concurrent engines contend) and managed bytes allocated.
    var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(model);
    for (int i = 0; i < 100; i++) engine.Predict(rows[i % rows.Count]);
    var stats = TorchSharp.DisposeScopeManager.Statistics;
    long tensors = stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount, bytes = GC.GetAllocatedBytesForCurrentThread();
    for (int i = 0; i < 1000; i++) engine.Predict(rows[i % rows.Count]);
    Console.WriteLine($"per prediction: {(stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount - tensors) / 1000.0:F1} tensors, " +
                      $"{(GC.GetAllocatedBytesForCurrentThread() - bytes) / 1000.0:F0} managed bytes");
}
double one = Run(1);
double many = Run(threads);
Console.WriteLine($"1 thread, 1 engine:          {one,8:F0} predictions/s");
Console.WriteLine($"{threads} threads, 1 engine each: {many,8:F0} predictions/s ({many / one:F2}x)");

sealed class Row
{
    public float[] Points { get; set; } = Array.Empty<float>();
    public string Class { get; set; } = "";
}

sealed class Prediction
{
    public uint PredictedLabel { get; set; }
}
