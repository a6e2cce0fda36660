// PredictionEngine throughput of a small trained Deep Sets classifier (sets of 33 points, d = 3, 3 classes):
// predictions/s with one engine on one thread, then with N threads each owning an engine over the same model.
// Usage: dotnet run -c Release -- [threads = 2] [seconds per measurement = 3]. It also prints the TorchSharp tensors and
// managed bytes one prediction creates, and the gen-0 collections and their pauses during each measurement (a gen-0
// pause stops every engine; its length grows with the objects allocated since the last one). Set OMP_NUM_THREADS=1 so
// that the engines do not oversubscribe the cores with libtorch intra-op threads. Switches, by environment variable:
//   ALLOC=1     sample 200,000 predictions' allocations by type (GCAllocationTick, one event per ~100 KB) and stop;
//   ONLY=1      skip the one-thread measurement (for perf record of the N-thread phase alone);
//   SEPARATE=1  give each engine its own copy of the model (saved and loaded), so no weight tensor is shared.
using System.Diagnostics;
using Microsoft.ML;
using SetML;
using SetML.Models;
using SetML.Training;

int threads = int.Parse(args.Length > 0 ? args[0] : "2");
double seconds = double.Parse(args.Length > 1 ? args[1] : "3", System.Globalization.CultureInfo.InvariantCulture);
int setSize = int.Parse(Environment.GetEnvironmentVariable("SET_SIZE") ?? "33");   // elements per set
var ml = new MLContext(0);
var rng = new Random(0);
var rows = Enumerable.Range(0, 600).Select(_ =>
{
    var p = new float[setSize * 3];
    for (int j = 0; j < p.Length; j++) p[j] = (float)rng.NextDouble();
    float s = 0; for (int k = 0; k < setSize; k++) s += p[3 * k];
    return new Row { Points = p, Class = s < setSize * 0.47f ? "low" : s < setSize * 0.53f ? "mid" : "high" };
}).ToList();
var model = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Row.Class))
    .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Points", 3, new SetModelOptions
    {
        Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 64 }, LatentDimension = 64, RhoHiddenSizes = new[] { 64 }, EmbeddingDimension = 32 },
        Epochs = 3, Seed = 0,
    }))
    .Fit(ml.Data.LoadFromEnumerable(rows));

// The model saved and loaded again: the same weights in tensors of its own.
ITransformer Reload(ITransformer m)
{
    var ms = new MemoryStream();
    ml.Model.Save(m, null, ms);
    ms.Position = 0;
    return ml.Model.Load(ms, out _);
}

double Run(int n)
{
    bool separate = Environment.GetEnvironmentVariable("SEPARATE") == "1";
    var engines = Enumerable.Range(0, n).Select(_ => ml.Model.CreatePredictionEngine<Row, Prediction>(separate ? Reload(model) : model)).ToArray();
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
if (Environment.GetEnvironmentVariable("ALLOC") == "1")
{
    // Which types a prediction allocates: counts of allocation-tick events (proportional to bytes).
    using var l = new AllocListener();
    var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(model);
    for (int i = 0; i < 2000; i++) engine.Predict(rows[i % rows.Count]);
    l.On = true;
    for (int i = 0; i < 200000; i++) engine.Predict(rows[i % rows.Count]);
    l.On = false;
    foreach (var kv in l.Bytes.OrderByDescending(k => k.Value).Take(30)) Console.WriteLine($"{kv.Value,6} {kv.Key}");
    return;
}
int g1 = GC.CollectionCount(0); var pause1 = GC.GetTotalPauseDuration();
double one = Environment.GetEnvironmentVariable("ONLY") == "1" ? 1 : Run(1);
Console.WriteLine($"gen0 GCs during the 1-thread run: {GC.CollectionCount(0) - g1}, pause {(GC.GetTotalPauseDuration() - pause1).TotalMilliseconds:F1} ms");
int g0 = GC.CollectionCount(0); var pause = GC.GetTotalPauseDuration();
double many = Run(threads);
{
    var info = GC.GetGCMemoryInfo(GCKind.Ephemeral);
    Console.WriteLine($"last gen-0 collection: {info.GenerationInfo[0].SizeBeforeBytes:N0} bytes of gen 0 before, {info.PromotedBytes:N0} promoted, pause {info.PauseDurations[0].TotalMilliseconds:F3} ms");
}
Console.WriteLine($"gen0 GCs during the {threads}-thread run: {GC.CollectionCount(0) - g0}, pause {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:F1} ms");
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

/// <summary>Counts the runtime's allocation-tick events by type while <see cref="On"/>.</summary>
sealed class AllocListener : System.Diagnostics.Tracing.EventListener
{
    public readonly Dictionary<string, long> Bytes = new();
    public bool On;
    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource s)
    {
        if (s.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(s, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
    }
    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (!On || e.EventName != "GCAllocationTick_V4") return;
        var name = (string)e.Payload![e.PayloadNames!.IndexOf("TypeName")]!;
        lock (Bytes) { Bytes.TryGetValue(name, out var b); Bytes[name] = b + 1; }
    }
}
