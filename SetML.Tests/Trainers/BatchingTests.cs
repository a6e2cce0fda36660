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
}
