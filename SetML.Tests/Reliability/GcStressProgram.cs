using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Tests.Foundation;
using SetML.Training;

namespace SetML.Tests.Reliability;

/// <summary>
/// Runs in a child process (<c>dotnet SetML.Tests.dll gc-stress STEPS OUTPUT.json</c>) for <see cref="GcStressTests"/>:
/// trains a tiny Set Transformer for STEPS optimizer steps and predicts with it, while another thread forces garbage collections
/// (gen 0, and every 20th a full one) and runs finalizers without pause. An implicit TorchSharp Scalar finalized while libtorch reads it
/// surfaces here as a native crash or an <c>ExternalException</c> (<c>toFloat (Scalar.h)</c>).
/// </summary>
public static class GcStressProgram
{
    /// <summary>What the run did.</summary>
    public sealed record Report(int Steps, int Collections, double FinalLoss, int Predictions, bool PredictionsFinite);

    public static int Run(int steps, string outputPath)
    {
        const int rows = 64, batch = 4;
        int epochs = (steps + rows / batch - 1) / (rows / batch);
        var ml = new MLContext(seed: 0);
        var data = TestSets.Load(ml, TestSets.Points(rows, 11, maxN: 6));
        int collections = 0;
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                // Mostly gen-0 collections: the temporaries that matter are young, and a gen-0 collection (≈0.1 ms) lets
                // training go on between them; every 20th is a full collection, which takes milliseconds with ML.NET loaded.
                GC.Collect(Interlocked.Increment(ref collections) % 20 == 0 ? GC.MaxGeneration : 0);
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        var losses = new List<double>();
        collector.Start();
        try
        {
            var options = new SetRegressionOptions
            {
                Epochs = epochs, BatchSize = batch, Seed = 2, LearningRate = 3e-3, GradientClipNorm = 1,
                Encoder = new SetTransformerOptions { Width = 8, Heads = 2, Layers = 2, Seeds = 2, LayerNorm = true },
                HeadHiddenSizes = new[] { 8 },
                Progress = new EpochLosses(losses),
            };
            using var model = ml.Regression.Trainers.SetTransformer("Label", "Points", 2, options).Fit(data);
            var scores = Enumerable.Range(0, 5).SelectMany(_ => model.Transform(data).GetColumn<float>("Score")).ToArray();
            File.WriteAllText(outputPath, JsonSerializer.Serialize(new Report(epochs * (rows / batch), collections, losses[^1], scores.Length, scores.All(float.IsFinite))));
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
        return 0;
    }

    private sealed class EpochLosses(List<double> losses) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => losses.Add(value.TrainingLoss);
    }
}
