using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;

namespace SetML.Tests.Trainers;

/// <summary>
/// What the one training template (<see cref="SetModelTrainer{TSpec,TNetwork}"/>) guarantees to every task: the options
/// reach the loop unchanged (the auto-encoder featurizer included), input statistics come from the training rows only,
/// and the loop's on-device loss history reports a divergence at the right mini-batch.
/// </summary>
[TestClass]
public sealed class TrainingTemplateTests
{
    private static DeepSetsOptions Tiny() => new() { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 };

    private static float[] Embeddings(bool grouped)
    {
        var ml = new MLContext(seed: 1);
        var data = TestSets.Load(ml, TestSets.Points(40, 5, maxN: 9));
        var options = new SetAutoEncoderFeaturizerOptions
        {
            Epochs = 2, BatchSize = 4, Seed = 3, Encoder = Tiny(), HeadHiddenSizes = new[] { 4 }, GroupBatchesBySetSize = grouped,
            Decoder = new MlpSetDecoderOptions { LatentDimension = 4, HiddenSizes = new[] { 8 } },
        };
        using var model = ml.Transforms.DeepSets("Embedding", "Points", 2, null, options).Fit(data);
        return model.Transform(data).GetColumn<float[]>("Embedding").SelectMany(v => v).ToArray();
    }

    [TestMethod]
    public void AutoEncoderFeaturizer_UsesEveryTrainingOption_GroupBatchesBySetSizeIncluded()
    {
        // The unsupervised featurizer used to copy its options field by field into set-prediction options and dropped
        // GroupBatchesBySetSize: grouped and plain batches trained the same model.
        var plain = Embeddings(grouped: false);
        CollectionAssert.AreEqual(plain, Embeddings(grouped: false), "same seed, same model");
        CollectionAssert.AreNotEqual(plain, Embeddings(grouped: true), "grouping by set size changes the mini-batches, so the model");
    }

    [TestMethod]
    public void ValidationFraction_StatisticsAreOfTheTrainingRowsOnly()
    {
        var ml = new MLContext(seed: 1);
        var rows = TestSets.Points(40, 6);
        var data = TestSets.Load(ml, rows);
        var options = new SetRegressionOptions { Epochs = 1, BatchSize = 8, Seed = 9, ValidationFraction = 0.25, Encoder = Tiny(), HeadHiddenSizes = new[] { 4 } };
        using var model = ml.Regression.Trainers.SetRegression("Label", "Points", 2, options).Fit(data);
        var (train, valid) = SetModelTrainer<EncoderModelSpec, EncoderHeadNetwork>.SplitValidation(rows.Count, 0.25, 9);
        Assert.HasCount(10, valid);
        var spec = (EncoderModelSpec)model.Spec;
        Assert.AreEqual(train.Sum(r => rows[r].Points.Length / 2), spec.Inputs[0].Normalization!.Count, "elements of the training rows, none of the 10 held out");
        Assert.AreEqual((float)train.Average(r => (double)rows[r].Label), spec.LabelNormalization!.Mean[0], 1e-5f, "label mean of the training rows");
    }

    [TestMethod]
    public void Loop_ReadsLossesOncePerEpochYetNamesTheBatchThatDiverged()
    {
        // 100 batches per epoch (more than one read of the loss history); the loss of the 71st batch of epoch 2 is NaN.
        torch.random.manual_seed(0);
        using var model = torch.nn.Linear(2, 1);
        var x = torch.randn(200, 2);
        int calls = 0;
        var progress = new List<TrainingBatchProgress>();
        var e = Assert.ThrowsExactly<TrainingDivergedException>(() => TrainingLoop.Run(model, new SetTrainingOptions { Epochs = 3, BatchSize = 2, Seed = 1 }, 200, idx =>
        {
            using var scope = torch.NewDisposeScope();
            var loss = model.call(x[torch.tensor(idx.Select(i => (long)i).ToArray())]).pow(2).mean();
            if (++calls == 171) loss = loss.mul(torch.tensor(float.NaN));
            return loss.MoveToOuterDisposeScope();
        }, hooks: new TrainingHooks { BatchDone = progress.Add }));
        Assert.AreEqual(2, e.Epoch, e.Message);
        Assert.AreEqual(71, e.Batch, e.Message);
        Assert.AreEqual(100, e.BatchesPerEpoch);
        Assert.IsTrue(double.IsNaN(e.Loss));
        StringAssert.Contains(e.Message, "epoch 2, batch 71 of 100");
        Assert.IsTrue(progress.Take(100).All(p => double.IsNaN(p.Loss)), "epoch 1: no epoch loss known yet");
        Assert.IsTrue(progress.Skip(100).All(p => double.IsFinite(p.Loss)), "epoch 2 reports epoch 1's loss");
    }
}
