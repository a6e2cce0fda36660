using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Tests.Encoders;

/// <summary>
/// The shared checks, run over every set encoder found by reflection (every concrete <see cref="SetEncoderOptions"/>
/// the spec registry knows, SetML's own and any in a loaded assembly that references SetML, such as
/// <see cref="MeanPoolEncoder"/> in this project), with its default options: permutation invariance, padding
/// invariance, empty and one-element sets, chunked encoding for the mini-batch consistent ones (and a clear refusal
/// for the others), and a featurizer trained, saved and loaded with bitwise-equal embeddings. A new encoder is covered
/// without being listed anywhere.
/// </summary>
[TestClass]
public sealed class AllEncodersTests
{
    private const int D = 2;

    /// <summary>The stable names of every encoder options type, one test case each.</summary>
    public static IEnumerable<object[]> Encoders() => EncoderTypes().Select(c => new object[] { c.Key });

    internal static SortedDictionary<string, Type> EncoderTypes() => new(
        SpecJson.Components.Values.Where(c => typeof(SetEncoderOptions).IsAssignableFrom(c.Type)).ToDictionary(c => c.Name, c => c.Type),
        StringComparer.Ordinal);

    private static SetEncoderOptions Create(string name) => (SetEncoderOptions)Activator.CreateInstance(EncoderTypes()[name])!;

    [TestMethod]
    public void EveryShippedEncoderAndTheTestProjectsOwnAreFound()
    {
        var names = EncoderTypes().Keys.ToList();
        foreach (var expected in new[] { "encoder.deep-sets", "encoder.set-transformer", "encoder.slot-set-encoder", "encoder.fspool", "encoder.janossy",
                                         "encoder.equivariant-deep-sets", "encoder.relation-network", "encoder.attention-pooling", "encoder.relaxed-deep-sets", "test.mean-pool" })
            CollectionAssert.Contains(names, expected, $"encoders found: {string.Join(", ", names)}");
    }

    [TestMethod]
    [DynamicData(nameof(Encoders))]
    public void PermutationPaddingAndEmptySets(string name)
    {
        var options = Create(name);
        using var encoder = EncoderChecks.Seeded(1, () => options.CreateEncoder(D));
        Assert.AreEqual(D, encoder.InputDimension, name);
        Assert.AreEqual(options.CreateEmbeddingDimension(D), encoder.OutputDimension, $"{name}: CreateEmbeddingDimension must match the encoder it creates");
        EncoderChecks.All(encoder);
        double bytes = options.EstimateForwardBytes(D, 4, 10);
        Assert.IsTrue(double.IsFinite(bytes) && bytes > 0, $"{name}: EstimateForwardBytes = {bytes}");
    }

    [TestMethod]
    [DynamicData(nameof(Encoders))]
    public void ChunkedEncodingMatchesTheWholeSet_ExactlyWhenTheEncoderImplementsTheStreamingInterface(string name)
    {
        var options = Create(name);
        using var encoder = EncoderChecks.Seeded(2, () => options.CreateEncoder(D));
        Assert.AreEqual(encoder is IMiniBatchConsistentEncoder, options.IsMiniBatchConsistent, $"{name}: IsMiniBatchConsistent follows the interface");
        if (!options.IsMiniBatchConsistent)
        {
            var e = Assert.ThrowsExactly<NotSupportedException>(() => StreamingSetEncoder.Create(encoder));
            StringAssert.Contains(e.Message, "not mini-batch consistent");
            return;
        }
        var rng = new Random(5);
        var sets = new[] { 9, 1, 0, 5 }.Select(n => TestSets.RandomSet(rng, n, D)).ToArray();
        var full = EncoderChecks.Encode(encoder, sets, D);
        using var stream = StreamingSetEncoder.Create(encoder);
        for (int trial = 0; trial < 3; trial++)
        {
            stream.Start(sets.Length);
            foreach (var (x, mask) in StreamingTests.RandomPartition(sets, D, rng))
            {
                stream.Add(x, mask);
                x.Dispose(); mask.Dispose();
            }
            using var y = stream.Finish();
            EncoderChecks.AssertRowsClose(full, y, 1e-5, $"{name}, partition {trial}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Encoders))]
    public void FeaturizerTrainsSavesAndLoadsBitwise(string name)
    {
        var ml = new MLContext(seed: 0);
        var train = TestSets.Load(ml, TestSets.Points(24, seed: 3, maxN: 5));
        var options = new SetFeaturizerOptions { Encoder = Create(name), Epochs = 1, BatchSize = 8, Seed = 4 };
        var model = ml.Transforms.SetEncoder("Embedding", "Points", D, "Label", options).Fit(train);
        var before = Embeddings(ml, model.Transform(train));
        Assert.IsTrue(before.All(r => r.Length == options.Encoder.CreateEmbeddingDimension(D) && r.All(float.IsFinite)), name);
        using var ms = new MemoryStream();
        ml.Model.Save(model, train.Schema, ms);
        ms.Position = 0;
        var loaded = ml.Model.Load(ms, out _);
        var after = Embeddings(ml, loaded.Transform(train));
        for (int i = 0; i < before.Length; i++)
            CollectionAssert.AreEqual(before[i], after[i], $"{name}: row {i} differs after save/load");
        (loaded as IDisposable)?.Dispose();
        (model as IDisposable)?.Dispose();
    }

    private sealed class EmbeddingRow { public float[] Embedding { get; set; } = []; }

    internal static float[][] Embeddings(MLContext ml, IDataView view)
        => ml.Data.CreateEnumerable<EmbeddingRow>(view, reuseRowObject: false).Select(r => r.Embedding).ToArray();
}
