using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using Orleans.TestingHost;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Distributed;
using SetML.Tests.Encoders;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Tests.Scale;

/// <summary>Distributed encoding on an in-process Orleans cluster (Microsoft.Orleans.TestingHost) equals the single-process encoding.</summary>
[TestClass]
public sealed class OrleansClusterTests
{
    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public async Task ThreeSilos_EncodeA100kElementSet_EqualToSingleProcess()
    {
        var ml = new MLContext(seed: 1);
        var train = TestSets.Load(ml, TestSets.Points(100, 34));
        var encoder = new SlotSetEncoderOptions
        {
            PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = 8, SlotCounts = new[] { 4 }, SlotDimension = 8, AttentionDimension = 8,
            Aggregation = PoolingKind.Mean, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4,
        };
        var dir = Directory.CreateTempSubdirectory("setml-orleans-").FullName;
        try
        {
            var modelPath = Path.Combine(dir, "encoder.zip");
            using (var model = ml.Transforms.SlotSetEncoder("E", "Points", 2, "Label", new SetFeaturizerOptions { Epochs = 1, Seed = 1, Encoder = encoder }).Fit(train))
                ml.Model.Save(model, train.Schema, modelPath);

            // 100,000 elements in 23 partitions of random sizes (some empty), as rows of elements would arrive.
            const int n = 100_000;
            var rng = new Random(9);
            var set = TestSets.RandomSet(rng, n, 2);
            var cuts = Enumerable.Range(0, 22).Select(_ => rng.Next(n + 1)).Append(0).Append(n).OrderBy(v => v).ToArray();
            var partitions = cuts.Zip(cuts.Skip(1), (a, b) => set[(2 * a)..(2 * b)]).ToList();

            var (loaded, local) = SiloSetEncoder.Load(modelPath);
            var expected = ml.Data.CreateEnumerable<Row>(loaded.Transform(ml.Data.LoadFromEnumerable(new[] { new PointSetRow { Points = set } })), false).Single().E;

            var builder = new InProcessTestClusterBuilder(3);
            builder.ConfigureSilo((_, silo) => silo.AddSetEncoderGrains(modelPath, maxConcurrentEncodes: 1, chunkElements: 8_192));
            await using var cluster = builder.Build();
            await cluster.DeployAsync();
            var state = await new DistributedSetEncoder(cluster.Client, maxInFlight: 6).EncodeAsync(partitions);

            Assert.AreEqual((long)n, state.ElementCount);
            Assert.AreEqual(local.ModelId, state.ModelId, "every silo loaded the same model");
            EncoderChecks.AssertClose(expected, local.FinishVector(state), 1e-5, "3 silos vs single process");
            var perSilo = cluster.Silos.Select(s => cluster.GetSiloServiceProvider(s.SiloAddress).GetRequiredService<SiloSetEncoder>().PartitionsEncoded).ToArray();
            Console.WriteLine($"partitions per silo: {string.Join(", ", perSilo)}");
            Assert.AreEqual((long)partitions.Count, perSilo.Sum());
            Assert.IsGreaterThanOrEqualTo(2, perSilo.Count(c => c > 0), $"the work was spread over the silos ({string.Join(", ", perSilo)})");
            (loaded as IDisposable)?.Dispose();
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private sealed class Row
    {
        public float[] E { get; set; } = Array.Empty<float>();
    }
}
