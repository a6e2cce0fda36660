using Microsoft.ML;
using Microsoft.ML.Data;
using SetML;
using SetML.Training;

var ml = new MLContext(seed: 0);
var rng = new Random(0);
SetRow Make() { int n = rng.Next(1, 11); var v = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray(); return new SetRow { Set = v, Label = v.Max() }; }
var train = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 2000).Select(_ => Make()).ToList());
var test = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 500).Select(_ => Make()).ToList());
var sw = System.Diagnostics.Stopwatch.StartNew();
var trainer = ml.Regression.Trainers.DeepSets("Label", "Set", 1, new SetRegressionOptions { Epochs = 10, Encoder = new SetML.Models.DeepSetsOptions { Pooling = SetML.Modules.PoolingKind.Max } });
var model = trainer.Fit(train);
Console.WriteLine($"fit {sw.Elapsed}");
var m = ml.Regression.Evaluate(model.Transform(test));
Console.WriteLine($"MAE {m.MeanAbsoluteError:F4} R2 {m.RSquared:F3}");
ml.Model.Save(model, train.Schema, "/tmp/m.zip");
var loaded = ml.Model.Load("/tmp/m.zip", out var schema);
var m2 = ml.Regression.Evaluate(loaded.Transform(test));
Console.WriteLine($"loaded MAE {m2.MeanAbsoluteError:F4}");
var pe = ml.Model.CreatePredictionEngine<SetRow, Pred>(loaded);
Console.WriteLine(pe.Predict(new SetRow { Set = new[] { 0.1f, 0.9f, 0.3f } }).Score);
Console.WriteLine(pe.Predict(new SetRow { Set = new[] { 0.2f } }).Score);

class SetRow { public float[] Set { get; set; } = Array.Empty<float>(); public float Label { get; set; } }
class Pred { public float Score { get; set; } }
