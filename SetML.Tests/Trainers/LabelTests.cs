using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Foundation;
using SetML.Training;

namespace SetML.Tests.Trainers;

/// <summary>
/// Labels the ML.NET way: key labels over Single, Int32 and String values (MapValueToKey), keys without key values,
/// rows with missing labels skipped and counted in MLContext.Log, and the featurizer's logged task choice.
/// </summary>
[TestClass]
public sealed class LabelTests
{
    private static DeepSetsOptions Small() => new() { PhiHiddenSizes = new[] { 32 }, LatentDimension = 32, RhoHiddenSizes = new[] { 32 }, EmbeddingDimension = 16, Pooling = PoolingKind.Sum };

    private sealed class TypedRow
    {
        public float[] Points { get; set; } = Array.Empty<float>();
        public float SingleClass { get; set; }
        public int IntClass { get; set; }
        public string TextClass { get; set; } = "";
        [KeyType(3)] public uint KeyClass { get; set; }
        public float Value { get; set; }
    }

    /// <summary>
    /// Sets of 1..8 points; the class is the size bucket (1–3, 4–6, 7–8), as Single 10/20/30, Int32 −1/0/1, text, and a bare
    /// key. LoadFromEnumerable reads a [KeyType] uint as 0-based (the view's key is value + 1), so uint.MaxValue is the missing key 0.
    /// </summary>
    private static List<TypedRow> Rows(int count, int seed) => TestSets.Points(count, seed).Select(r =>
    {
        int c = r.Category switch { "small" => 0, "medium" => 1, _ => 2 };
        return new TypedRow { Points = r.Points, SingleClass = 10f * (c + 1), IntClass = c - 1, TextClass = r.Category, KeyClass = (uint)c, Value = r.Label };
    }).ToList();

    private static string[] Strings(IDataView v, string column) => v.Schema[column].Type switch
    {
        var t when t == NumberDataViewType.Single => v.GetColumn<float>(column).Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
        var t when t == NumberDataViewType.Int32 => v.GetColumn<int>(column).Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
        _ => v.GetColumn<string>(column).ToArray(),
    };

    private static List<string> CaptureLog(MLContext ml)
    {
        var log = new List<string>();
        ml.Log += (_, e) => { lock (log) log.Add(e.Message); };
        return log;
    }

    [TestMethod]
    [DataRow("SingleClass")]
    [DataRow("IntClass")]
    [DataRow("TextClass")]
    public void Multiclass_MapValueToKeyOverAnyType_TrainsAndMapsBack(string column)
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(Rows(400, 1));
        var test = ml.Data.LoadFromEnumerable(Rows(150, 2));
        var model = ml.Transforms.Conversion.MapValueToKey("Label", column)
            .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Points", 2, new SetModelOptions { Epochs = 12, Encoder = Small(), LearningRate = 1e-2 }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("Predicted", "PredictedLabel"))
            .Fit(train);
        var scored = model.Transform(test);
        var m = ml.MulticlassClassification.Evaluate(scored);
        Assert.IsTrue(m.MicroAccuracy > 0.8, $"{column}: accuracy {m.MicroAccuracy}");
        // PredictedLabel's key values have the label's type, so MapKeyToValue gives back the original values.
        Assert.AreEqual(scored.Schema[column].Type, scored.Schema["Predicted"].Type, "MapKeyToValue(PredictedLabel) has the label's type");
        var truth = Strings(scored, column);
        var predicted = Strings(scored, "Predicted");
        Assert.IsTrue(predicted.Zip(truth).Count(p => p.First == p.Second) > 0.8 * truth.Length, $"{column}: mapped-back predictions");
        Assert.AreEqual(3, ((VectorDataViewType)scored.Schema["Score"].Annotations.Schema["SlotNames"].Type).Size, "Score has the class names as slot names");

        // The same key label through a featurizer, then an ML.NET trainer.
        var log = CaptureLog(ml);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", column)
            .Append(ml.Transforms.DeepSets("Embedding", "Points", 2, "Label", new SetFeaturizerOptions { Epochs = 5, Encoder = Small(), LearningRate = 1e-2 }))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Embedding", maximumNumberOfIterations: 30));
        var fm = ml.MulticlassClassification.Evaluate(pipeline.Fit(train).Transform(test));
        Assert.IsTrue(fm.MicroAccuracy > 0.6, $"{column} featurized: accuracy {fm.MicroAccuracy}");
        Assert.IsTrue(log.Any(l => l.Contains("training task MulticlassClassification, chosen from the type of label 'Label'")), "task choice logged");
    }

    [TestMethod]
    public void Multiclass_KeyWithoutKeyValues_Trains()
    {
        var ml = new MLContext(0);
        var train = ml.Data.LoadFromEnumerable(Rows(400, 1));
        Assert.IsNull(train.Schema["KeyClass"].Annotations.Schema.GetColumnOrNull("KeyValues"));
        var model = ml.MulticlassClassification.Trainers.SetClassification("KeyClass", "Points", 2, new SetModelOptions { Epochs = 12, Encoder = Small(), LearningRate = 1e-2 }).Fit(train);
        var m = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(Rows(150, 2))), "KeyClass");
        Assert.IsTrue(m.MicroAccuracy > 0.8, $"accuracy {m.MicroAccuracy}");
        Assert.IsNull(model.GetOutputSchema(train.Schema)["PredictedLabel"].Annotations.Schema.GetColumnOrNull("KeyValues"));
    }

    [TestMethod]
    public void MissingLabels_AreSkippedAndCounted()
    {
        var ml = new MLContext(0);
        var log = CaptureLog(ml);
        var rows = Rows(300, 3);
        for (int i = 0; i < rows.Count; i += 10) { rows[i].Value = float.NaN; rows[i].SingleClass = float.NaN; rows[i].KeyClass = uint.MaxValue; }
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = new SetRegressionOptions { Epochs = 2, Encoder = Small() };
        var regression = ml.Regression.Trainers.SetRegression("Value", "Points", 2, options).Fit(data);
        Assert.IsTrue(log.Any(l => l.Contains("Skipped 30 of 300 training rows whose label 'Value' is missing")), "regression: skipped rows logged");
        Assert.IsTrue(regression.Transform(data).GetColumn<float>("Score").All(float.IsFinite));

        log.Clear();
        ml.MulticlassClassification.Trainers.SetClassification("KeyClass", "Points", 2, new SetModelOptions { Epochs = 1, Encoder = Small() }).Fit(data);
        Assert.IsTrue(log.Any(l => l.Contains("Skipped 30 of 300 training rows whose label 'KeyClass' is missing")), "key 0: skipped rows logged: " + string.Join(" | ", log.Where(l => l.Contains("Skipped") || l.Contains("task"))));

        // MapValueToKey maps a NaN Single to the missing key 0: also skipped.
        log.Clear();
        ml.Transforms.Conversion.MapValueToKey("Label", "SingleClass")
            .Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Points", 2, new SetModelOptions { Epochs = 1, Encoder = Small() })).Fit(data);
        Assert.IsTrue(log.Any(l => l.Contains("Skipped 30 of 300 training rows")), "NaN → key 0: skipped rows logged");

        foreach (var r in rows) r.Value = float.NaN;
        var e = Assert.ThrowsExactly<SetColumnException>(() => ml.Regression.Trainers.SetRegression("Value", "Points", 2, options).Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("all 300 training rows have a missing label", e.Message);
        Assert.Contains("'Value'", e.Message);
    }

    [TestMethod]
    public void Featurizer_TaskCanBeSetAndIsLogged()
    {
        var ml = new MLContext(0);
        var log = CaptureLog(ml);
        var rows = Rows(200, 4).Select(r => { r.Value = r.Points.Length / 2; return r; }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.DeepSets("E", "Points", 2, "Value", new SetFeaturizerOptions { Epochs = 1, Encoder = Small(), Task = SetTask.PoissonRegression }).Fit(data);
        Assert.AreEqual(SetTask.PoissonRegression, ((EncoderModelSpec)model.Spec).Task);
        Assert.IsTrue(log.Any(l => l.Contains("training task PoissonRegression, set by SetFeaturizerOptions.Task")), "explicit task logged");
        log.Clear();
        ml.Transforms.DeepSets("E", "Points", 2, "Value", new SetFeaturizerOptions { Epochs = 1, Encoder = Small() }).Fit(data);
        Assert.IsTrue(log.Any(l => l.Contains("training task Regression, chosen from the type of label 'Value' (Single)")), "inferred task logged");
    }
}
