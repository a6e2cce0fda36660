using SetML.Training;

namespace SetML.Tests.Trainers;

/// <summary>Mini-batch formation of <see cref="TrainingLoop"/>, with and without grouping by set size.</summary>
[TestClass]
public sealed class BatchingTests
{
    private static int[] Shuffled(int n, int seed)
    {
        var order = Enumerable.Range(0, n).ToArray();
        TrainingLoop.Shuffle(order, new Random(seed));
        return order;
    }

    [TestMethod]
    public void PlainBatchesAreConsecutiveSlicesOfTheShuffledOrder()
    {
        var order = Shuffled(23, 1);
        var batches = TrainingLoop.Batches(order, 5, null, new Random(2)).ToList();
        CollectionAssert.AreEqual(new[] { 5, 5, 5, 5, 3 }, batches.Select(b => b.Length).ToArray());
        CollectionAssert.AreEqual(order, batches.SelectMany(b => b).ToArray());
    }

    [TestMethod]
    public void GroupingBySizeKeepsEveryRowOnceCutsPaddingAndIsSeeded()
    {
        var rng = new Random(7);
        var sizes = Enumerable.Range(0, 2_000).Select(_ => rng.Next(100, 501)).ToArray();
        var order = Shuffled(sizes.Length, 3);
        var grouped = TrainingLoop.Batches(order, 10, i => sizes[i], new Random(4)).ToList();

        var all = grouped.SelectMany(b => b).OrderBy(i => i).ToArray();
        CollectionAssert.AreEqual(Enumerable.Range(0, sizes.Length).ToArray(), all, "every row exactly once");
        Assert.IsTrue(grouped.All(b => b.Length == 10));

        static double Padded(IEnumerable<int[]> batches, int[] sizes) => batches.Sum(b => (double)b.Length * b.Max(i => sizes[i]));
        double plain = Padded(TrainingLoop.Batches(order, 10, null, new Random(4)), sizes), real = sizes.Sum();
        double groupedCost = Padded(grouped, sizes);
        Assert.IsTrue(plain / real > 1.4, $"plain batches of U(100, 500) sets pad to {plain / real:F2}× the real elements");
        Assert.IsTrue(groupedCost / real < 1.05, $"grouped batches pad to {groupedCost / real:F2}× the real elements");

        // Batches are not in size order (shuffled), and the same seed gives the same batches.
        var firstSizes = grouped.Take(20).Select(b => sizes[b[0]]).ToArray();
        CollectionAssert.AreNotEqual(firstSizes.OrderBy(v => v).ToArray(), firstSizes);
        var again = TrainingLoop.Batches(order, 10, i => sizes[i], new Random(4)).ToList();
        Assert.IsTrue(grouped.Zip(again).All(p => p.First.SequenceEqual(p.Second)));
    }

    [TestMethod]
    public void CosineScheduleMovesEveryBatchAndStepScheduleAtEpochBoundaries()
    {
        var cosine = new SetTrainingOptions { LearningRate = 1e-3, Epochs = 4, Schedule = LearningRateSchedule.Cosine };
        Assert.AreEqual(1e-3, TrainingLoop.LearningRate(cosine, 0), 1e-15);
        Assert.AreEqual(0.5e-3, TrainingLoop.LearningRate(cosine, 2), 1e-15);
        var within = Enumerable.Range(0, 9).Select(b => TrainingLoop.LearningRate(cosine, 1 + b / 9.0)).ToArray();
        for (int i = 1; i < within.Length; i++) Assert.IsTrue(within[i] < within[i - 1], "decreases within an epoch");

        var step = new SetTrainingOptions { LearningRate = 1e-3, Schedule = LearningRateSchedule.Step, StepSize = 2, StepGamma = 0.1 };
        Assert.AreEqual(1e-3, TrainingLoop.LearningRate(step, 1.99), 1e-15);
        Assert.AreEqual(1e-4, TrainingLoop.LearningRate(step, 2), 1e-15);
        Assert.AreEqual(1e-3, TrainingLoop.LearningRate(new SetTrainingOptions { LearningRate = 1e-3, Schedule = LearningRateSchedule.Constant }, 7.5), 1e-15);
        Assert.AreEqual(LearningRateSchedule.Cosine, new SetTrainingOptions().Schedule, "the default schedule (docs on SetTrainingOptions.Schedule)");
    }
}
