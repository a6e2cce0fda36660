using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Tests.Reliability;

/// <summary>A row of the huge-set checks: a set of 3-D points and a class.</summary>
public sealed class CloudRow
{
    public float[] Points { get; set; } = Array.Empty<float>();
    public string Category { get; set; } = "";
}

/// <summary>Multiclass prediction output.</summary>
public sealed class ClassScores
{
    public float[] Score { get; set; } = Array.Empty<float>();
}

/// <summary>
/// Runs in a child process (<c>dotnet SetML.Tests.dll huge-set OUTPUT.json</c>), so that a native crash fails
/// <see cref="HugeSetTests"/> instead of killing the test host: for every encoder, a tiny multiclass classifier meets a
/// row of <see cref="HugeSize"/> elements of dimension 3, at prediction (PredictionEngine and Transform) and at Fit.
/// Each outcome is appended to OUTPUT.json as soon as it is known (the file names the case a crash happened in).
/// </summary>
public static class HugeSetProgram
{
    /// <summary>Elements in the huge row (d = 3).</summary>
    public const int HugeSize = 1_000_000;

    /// <summary>Row index of the huge row in the training data of the Fit cases.</summary>
    public const int HugeRow = 24;

    /// <summary>Memory budget the cases run under (a server's share, and small enough for a shared CI machine): 2 GB.</summary>
    public const long Budget = 2_000_000_000;

    /// <summary>The encoders checked, tiny so that the whole run takes seconds.</summary>
    public static readonly (string Name, Func<SetEncoderOptions> Create)[] Encoders =
    {
        ("DeepSets", () => new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }),
        ("SetTransformer-SAB", () => new SetTransformerOptions { Width = 8, Heads = 2, Layers = 1 }),
        ("SetTransformer-ISAB", () => new SetTransformerOptions { UseInducedPoints = true, InducingPoints = 4, Width = 8, Heads = 2, Layers = 1 }),
        ("SlotSetEncoder", () => new SlotSetEncoderOptions { PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = 8, SlotCounts = new[] { 4 }, SlotDimension = 8, AttentionDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }),
        ("FSPool", () => new FSPoolOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, Pieces = 4, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }),
        ("Janossy", () => new JanossyOptions { Mode = JanossyMode.KAry, TupleSize = 2, PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }),
        ("EquivariantDeepSets", () => new EquivariantDeepSetsOptions { LayerSizes = new[] { 8 }, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }),
        ("RelationNetwork", () => new RelationNetworkOptions { GHiddenSizes = new[] { 8 }, LatentDimension = 8, FHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }),
        ("AttentionPooling", () => new AttentionPoolingOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, AttentionDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }),
    };

    /// <summary>One case's outcome.</summary>
    public sealed record Outcome(string Case, string Result, string? Rule, long? Row, string Message, long Milliseconds = 0);

    public static int Run(string outputPath)
    {
        var ml = new MLContext(seed: 0);
        var small = SmallRows(HugeRow);
        var huge = new CloudRow { Points = HugeSet(), Category = "a" };
        File.WriteAllText(outputPath, "");
        foreach (var (name, create) in Encoders)
        {
            ITransformer? model = null;
            Record(outputPath, name + "/train-small", () => { model = Fit(ml, small, create()); return "ok"; });
            if (model == null) continue;
            Record(outputPath, name + "/PredictionEngine", () =>
            {
                var engine = ml.Model.CreatePredictionEngine<CloudRow, ClassScores>(model);
                return Check(engine.Predict(huge).Score);
            });
            Record(outputPath, name + "/Transform", () =>
            {
                var scores = model.Transform(ml.Data.LoadFromEnumerable(small.Append(huge))).GetColumn<float[]>("Score").ToArray();
                return Check(scores[^1]);
            });
            Record(outputPath, name + "/Fit", () =>
            {
                var rows = small.ToList();
                rows.Add(huge);
                rows.AddRange(SmallRows(8, seed: 9));
                var fitted = Fit(ml, rows, create());
                var engine = ml.Model.CreatePredictionEngine<CloudRow, ClassScores>(fitted);
                return Check(engine.Predict(rows[0]).Score);
            });
        }
        return 0;
    }

    private static ITransformer Fit(MLContext ml, List<CloudRow> rows, SetEncoderOptions encoder)
        => ml.Transforms.Conversion.MapValueToKey("Label", "Category")
            .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Points", 3, new SetModelOptions
            {
                Epochs = 1, BatchSize = 16, Seed = 1, Encoder = encoder, HeadHiddenSizes = new[] { 8 }, MemoryBudgetBytes = Budget,
            }))
            .Fit(ml.Data.LoadFromEnumerable(rows));

    private static string Check(float[] scores)
    {
        if (scores.Length != 2 || !scores.All(float.IsFinite) || Math.Abs(scores.Sum() - 1) > 1e-4)
            throw new InvalidOperationException($"wrong scores: [{string.Join(", ", scores)}]");
        return "ok";
    }

    private static void Record(string path, string name, Func<string> run)
    {
        File.AppendAllText(path, JsonSerializer.Serialize(new Outcome(name, "started", null, null, "")) + "\n");
        Outcome outcome;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        try { outcome = new Outcome(name, run(), null, null, ""); }
        catch (Exception e)
        {
            var inner = e;
            while (inner is not SetColumnException && inner.InnerException != null) inner = inner.InnerException;
            outcome = inner is SetColumnException s
                ? new Outcome(name, nameof(SetColumnException), s.Rule.ToString(), s.Row, s.Message)
                : new Outcome(name, e.GetType().Name, null, null, e.ToString());
        }
        File.AppendAllText(path, JsonSerializer.Serialize(outcome with { Milliseconds = watch.ElapsedMilliseconds }) + "\n");
    }

    private static List<CloudRow> SmallRows(int count, int seed = 5)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(i => new CloudRow
        {
            Points = Enumerable.Range(0, 3 * rng.Next(1, 9)).Select(_ => (float)rng.NextDouble()).ToArray(),
            Category = i % 2 == 0 ? "a" : "b",
        }).ToList();
    }

    private static float[] HugeSet()
    {
        var rng = new Random(7);
        var p = new float[3 * HugeSize];
        for (int i = 0; i < p.Length; i++) p[i] = (float)rng.NextDouble();
        return p;
    }
}
