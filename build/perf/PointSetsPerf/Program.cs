// Like-for-like timing of SetML against ../shared/bench/pointsets_reference.py on the same Fashion-MNIST point sets:
//   deepsets_max: phi 3→128→128→256 (ReLU), max pooling, then 256→128→10 (SetML: rho 256→128 = embedding, head 128→10);
//   isab_pma:     ISAB16(128, 4 heads) × 2 → PMA1 → Linear(128, 10) (SetML: SetTransformerOptions width 128).
// Both: batch 64, Adam(W, decay 0) lr 1e-3 with cosine decay per mini-batch, seed 0, element standardization on (SetML).
// Usage: dotnet run -c Release -- [train sets = 2000] [epochs = 2] [deepsets_max | isab_pma]; prints seconds per epoch
// (epoch 1 includes reading the IDataView, standardization and JIT warm-up).
using System.Diagnostics;
using Microsoft.ML;
using SetML;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Data;
using SetML.Training;

int nTrain = int.Parse(args.Length > 0 ? args[0] : "2000");
int epochs = int.Parse(args.Length > 1 ? args[1] : "2");
string model = args.Length > 2 ? args[2] : "deepsets_max";
var rows = FashionPointSets.LoadReference(FashionMnist.Load(FashionMnistSplit.Train, nTrain), 100, 0);
SetEncoderOptions encoder = model == "deepsets_max"
    ? new DeepSetsOptions { PhiHiddenSizes = new[] { 128, 128 }, LatentDimension = 256, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 128, Pooling = PoolingKind.Max }
    : new SetTransformerOptions { UseInducedPoints = true, InducingPoints = 16, Width = 128, Heads = 4, Layers = 2 };
var ml = new MLContext(0);
var options = new SetModelOptions
{
    Encoder = encoder, Epochs = epochs, BatchSize = 64, LearningRate = 1e-3, Schedule = LearningRateSchedule.Cosine,
    HeadHiddenSizes = Array.Empty<int>(), Seed = 0,
};
var epochSeconds = new List<double>();
var epochWatch = new Stopwatch();
options.Progress = new EpochTimer(_ => { epochSeconds.Add(epochWatch.Elapsed.TotalSeconds); epochWatch.Restart(); });
var pipeline = FashionPointSets.MapLabel(ml).Append(ml.MulticlassClassification.Trainers.SetClassification("Label", "Set", 3, options));
var data = ml.Data.LoadFromEnumerable(rows);
epochWatch.Start();
pipeline.Fit(data);
Console.WriteLine($"setml model={model} train={nTrain} epochs={epochs} epoch_s=[{string.Join(", ", epochSeconds.Select(t => t.ToString("F2")))}]");

sealed class EpochTimer(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}
