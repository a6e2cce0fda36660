using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Tests.Foundation;
using SetML.Training;
using TorchSharp;

namespace SetML.Tests.Reliability;

/// <summary>A training loss that becomes NaN/±∞ stops training with a clear exception, or keeps the last good weights.</summary>
[TestClass]
public sealed class DivergenceTests
{
    private static (MLContext, IDataView) Data()
    {
        var ml = new MLContext(seed: 0);
        return (ml, TestSets.Load(ml, TestSets.Points(64, 3)));
    }

    // The learning rate is fine in epoch 1 and multiplied by 1e8 at every later epoch: the run diverges after a good epoch.
    private static SetRegressionOptions Exploding(DivergenceHandling handling, int epochs = 6) => new()
    {
        Epochs = epochs, BatchSize = 16, Seed = 4, Schedule = LearningRateSchedule.Step, StepSize = 1, StepGamma = 1e8,
        OnDivergence = handling, Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 16 }, LatentDimension = 16, RhoHiddenSizes = new[] { 16 }, EmbeddingDimension = 8 },
        HeadHiddenSizes = new[] { 16 },
    };

    [TestMethod]
    public void HugeLearningRate_ThrowsTrainingDiverged_NamingEpochBatchAndCause()
    {
        var (ml, data) = Data();
        var e = Assert.Throws<TrainingDivergedException>(() => ml.Regression.Trainers.DeepSets("Label", "Points", 2, Exploding(DivergenceHandling.Throw)).Fit(data));
        Console.WriteLine(e.Message);   // the message quoted in docs/reliability.md
        Assert.IsGreaterThanOrEqualTo(2, e.Epoch, e.Message);
        Assert.IsFalse(double.IsFinite(e.Loss), e.Message);
        StringAssert.Contains(e.Message, $"epoch {e.Epoch}, batch {e.Batch} of 4");
        StringAssert.Contains(e.Message, "learning rate");
        StringAssert.Contains(e.Message, "OnDivergence = KeepLastGoodWeights");
    }

    [TestMethod]
    public void KeepLastGoodWeights_ReturnsTheLastFiniteEpochsModel()
    {
        var (ml, data) = Data();
        var e = Assert.Throws<TrainingDivergedException>(() => ml.Regression.Trainers.DeepSets("Label", "Points", 2, Exploding(DivergenceHandling.Throw)).Fit(data));
        using var kept = ml.Regression.Trainers.DeepSets("Label", "Points", 2, Exploding(DivergenceHandling.KeepLastGoodWeights)).Fit(data);
        // Same seed: the weights kept are exactly those of a run that stops after the last good epoch.
        using var reference = ml.Regression.Trainers.DeepSets("Label", "Points", 2, Exploding(DivergenceHandling.Throw, epochs: e.Epoch - 1)).Fit(data);
        var a = kept.Transform(data).GetColumn<float>("Score").ToArray();
        var b = reference.Transform(data).GetColumn<float>("Score").ToArray();
        Assert.IsTrue(a.All(float.IsFinite), "the kept model predicts non-finite scores");
        CollectionAssert.AreEqual(b, a);
    }

    [TestMethod]
    public void InfiniteLossAtTheFirstBatch_BlamesTheData()
    {
        torch.random.manual_seed(0);
        using var model = torch.nn.Linear(2, 1);
        var x = torch.randn(8, 2);
        using var huge = 1e30.ToScalar();
        var e = Assert.Throws<TrainingDivergedException>(() => TrainingLoop.Run(model, new SetTrainingOptions { Epochs = 2, BatchSize = 4 }, 8,
            idx => (model.forward(x[torch.tensor(idx.Select(i => (long)i).ToArray())]) - torch.ones(idx.Length, 1) * huge).square().mean()));
        Assert.AreEqual(1, e.Epoch);
        Assert.AreEqual(1, e.Batch);
        StringAssert.Contains(e.Message, "epoch 1, batch 1 of 2: the loss became +Infinity");
        StringAssert.Contains(e.Message, "before any weight update");
        StringAssert.Contains(e.Message, "Scale labels");
    }

    [TestMethod]
    public void KeepLastGoodWeights_WithoutAGoodEpoch_StillThrows()
    {
        torch.random.manual_seed(0);
        using var model = torch.nn.Linear(2, 1);
        var x = torch.randn(8, 2);
        var o = new SetTrainingOptions { Epochs = 2, BatchSize = 4, OnDivergence = DivergenceHandling.KeepLastGoodWeights };
        var e = Assert.Throws<TrainingDivergedException>(() => TrainingLoop.Run(model, o, 8, _ => model.forward(x).sum() * torch.tensor(float.NaN)));
        StringAssert.Contains(e.Message, "no good weights to keep");
    }
}
