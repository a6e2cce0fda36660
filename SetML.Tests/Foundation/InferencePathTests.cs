using Microsoft.ML.Data;
using Microsoft.ML;
using SetML.Training;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Foundation;

/// <summary>
/// The prediction path's shortcuts give bitwise the results of the training path: in-place activations and pooling
/// without autograd, inference mode, and the predicted class read from the scores' copy.
/// </summary>
[TestClass]
public sealed class InferencePathTests
{
    private static float[] Values(Tensor t) => t.contiguous().data<float>().ToArray();

    [TestMethod]
    [DataRow(Activation.ReLU)] [DataRow(Activation.GELU)] [DataRow(Activation.Tanh)]
    public void MlpWithoutAutogradEqualsMlpWithAutogradBitwise(Activation activation)
    {
        torch.random.manual_seed(3);
        using var mlp = new Mlp(5, new[] { 16, 8 }, 4, activation, activateLast: true);
        using var scope = NewDisposeScope();
        var x = randn(7, 5);
        var input = Values(x);
        var withGrad = Values(mlp.forward(x));
        float[] withoutGrad, inference;
        using (no_grad()) withoutGrad = Values(mlp.forward(x));
        using (inference_mode()) inference = Values(mlp.forward(x));
        CollectionAssert.AreEqual(withGrad, withoutGrad);
        CollectionAssert.AreEqual(withGrad, inference);
        CollectionAssert.AreEqual(input, Values(x), "the input is never overwritten");
    }

    [TestMethod]
    [DataRow(PoolingKind.Sum)] [DataRow(PoolingKind.Mean)] [DataRow(PoolingKind.Max)] [DataRow(PoolingKind.Min)]
    public void PoolingThatMayOverwriteItsInputGivesTheSameResultAndTouchesOnlyPadding(PoolingKind kind)
    {
        using var scope = NewDisposeScope();
        // Three sets of 4, 2 and 0 elements of dimension 3, padded to 4.
        var sets = new[] { Enumerable.Range(0, 12).Select(i => (float)Math.Sin(i)).ToArray(), new float[] { 1, -2, 3, -4, 5, -6 }, Array.Empty<float>() };
        var (x, mask) = SetBatch.Pad(sets, 3);
        var expected = Values(MaskedPooling.Pool(x, mask, kind));
        var copy = x.clone();
        float[] overwritten;
        using (no_grad()) overwritten = Values(MaskedPooling.Pool(copy, mask, kind, overwriteInput: true));
        CollectionAssert.AreEqual(expected, overwritten);
        CollectionAssert.AreEqual(Values(x[0]), Values(copy[0]), "real elements are kept");
        CollectionAssert.AreEqual(Values(x[1].narrow(0, 0, 2)), Values(copy[1].narrow(0, 0, 2)), "real elements are kept");
        Assert.AreEqual(0f, expected[6], "an empty set pools to zero");

        // With autograd on, the input is never overwritten, even when allowed.
        var leaf = x.clone().requires_grad_(true);
        var before = Values(leaf.detach());
        var pooled = MaskedPooling.Pool(leaf, mask, kind, overwriteInput: true);
        CollectionAssert.AreEqual(expected, Values(pooled.detach()));
        CollectionAssert.AreEqual(before, Values(leaf.detach()));
        pooled.sum().backward();
        Assert.IsTrue(leaf.grad!.isfinite().all().item<bool>());
    }

    [TestMethod]
    public void SetsStandardizedOnTheirWayIntoTheBatchEqualStandardizedCopiesBitwise()
    {
        using var scope = NewDisposeScope();
        var sets = new[] { new float[] { 1, 2, 3, 4, 5, 6 }, new float[] { -7.5f, 0.25f, 1e3f }, Array.Empty<float>() };
        var normalization = SetElementNormalization.Compute(sets, 3);
        var (x, mask) = SetBatch.Pad(sets, 3, null, 0, normalization);
        var (expectedX, expectedMask) = SetBatch.Pad(sets.Select(normalization.Apply).ToList(), 3);
        CollectionAssert.AreEqual(Values(expectedX), Values(x), "normalized values and zero padding");
        CollectionAssert.AreEqual(expectedMask.data<bool>().ToArray(), mask.data<bool>().ToArray(), "mask");
        CollectionAssert.AreEqual(new float[] { 1, 2, 3, 4, 5, 6 }, sets[0], "the caller's sets are left as they were");
    }

    [TestMethod]
    public void ThePredictedClassIsTheFirstMaximumAsArgmaxGivesIt()
    {
        using var scope = NewDisposeScope();
        var rows = new float[,]
        {
            { 0.1f, 0.7f, 0.2f },
            { 0.4f, 0.2f, 0.4f },                     // a tie: the first
            { 0.5f, float.NaN, 0.9f },                // NaN counts as the maximum
            { float.NaN, float.NaN, 0.1f },
            { 0.0f, 0.0f, 1.0f },
        };
        var probabilities = tensor(rows);
        var expected = probabilities.argmax(-1).data<long>().Select(i => (int)i).ToArray();
        CollectionAssert.AreEqual(expected, EncoderModelSpec.FirstMaximum(probabilities));
        CollectionAssert.AreEqual(new[] { 1, 0, 1, 0, 2 }, EncoderModelSpec.FirstMaximum(probabilities));
    }
    [TestMethod]
    [DataRow(PoolingKind.Sum)] [DataRow(PoolingKind.Mean)] [DataRow(PoolingKind.Max)] [DataRow(PoolingKind.Min)]
    public void PoolingWithoutADisposeScopeLeavesOnlyItsResult(PoolingKind kind)
    {
        // Pooling and the Deep Sets forward pass dispose their temporaries themselves (no dispose scope of their own):
        // outside any scope, in every grad mode and both overwrite modes, only the returned tensor stays alive.
        torch.random.manual_seed(5);
        using var encoder = new DeepSetsEncoder(3, new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4, Pooling = kind });
        using var padded = tensor(new[] { true, true, false, true, false, false }, new long[] { 2, 3 });
        using var full = ones(2, 3, dtype: ScalarType.Bool);   // no padding: pooling's shortcut
        foreach (var mask in new[] { padded, full })
        foreach (var mode in new[] { "grad", "no_grad", "inference" })
            foreach (bool overwrite in new[] { false, true })
            {
                using var x = randn(2, 3, 3, requires_grad: mode == "grad");
                long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
                using (IDisposable? _ = mode == "no_grad" ? no_grad() : mode == "inference" ? inference_mode() : null)
                {
                    using var h = x * 2;
                    using (MaskedPooling.Pool(h, mask, kind, overwrite)) { }
                    using (encoder.forward(x, mask)) { }
                }
                Assert.AreEqual(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount, $"{kind}, {mode}, overwrite {overwrite}: live tensors left behind");
            }
    }

    [TestMethod]
    public void APredictionEngineReusingItsInputArraysPredictsEveryRowAsTransformDoes()
    {
        // The engine reads each row into arrays kept from row to row (new ones only when a set's length changes) and
        // caches the last forward pass by position and values: rows of changing and repeated sizes, and a row repeated,
        // must each give Transform's score.
        var ml = new MLContext(0);
        var train = TestSets.Load(ml, TestSets.Points(60, 31));
        var model = ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions
        {
            Epochs = 1, Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 },
        }).Fit(train);
        var pool = TestSets.Points(6, 32);
        var rows = new[] { 0, 1, 1, 2, 0, 3, 3, 4, 5, 2, 0 }.Select(i => pool[i]).ToList();
        var expected = model.Transform(TestSets.Load(ml, rows)).GetColumn<float>("Score").ToArray();
        var engine = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(model);
        var actual = rows.Select(r => engine.Predict(r).Score).ToArray();
        CollectionAssert.AreEqual(expected, actual);
        Assert.IsTrue(rows.Select(r => r.Points.Length).Distinct().Count() > 2, "the rows' set sizes change");
    }
    [TestMethod]
    [DataRow(PoolingKind.Sum)] [DataRow(PoolingKind.Mean)] [DataRow(PoolingKind.Max)] [DataRow(PoolingKind.Min)]
    public void SetsWithoutPaddingPoolBitwiseAsTheSameSetsPadded(PoolingKind kind)
    {
        // A mask with no padding takes pooling's shortcut (no fill, no mask tensors); the same sets with a padded
        // element of extreme values take the masked path: the same values, bit for bit, and the same gradients.
        torch.random.manual_seed(9);
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 5).requires_grad_();
        var garbage = full(2, 1, 5, kind == PoolingKind.Min ? -1e6f : 1e6f);
        var xp = cat(new[] { x, garbage }, 1);
        var mask = ones(2, 3, dtype: ScalarType.Bool);
        var maskp = cat(new[] { mask, zeros(2, 1, dtype: ScalarType.Bool) }, 1);
        Assert.IsTrue(MaskedPooling.HasNoPadding(mask));
        Assert.IsFalse(MaskedPooling.HasNoPadding(maskp));
        var shortcut = MaskedPooling.Pool(x, mask, kind);
        var masked = MaskedPooling.Pool(xp, maskp, kind);
        CollectionAssert.AreEqual(Values(masked.detach()), Values(shortcut.detach()));
        var g1 = autograd.grad(new[] { shortcut.sum() }, new[] { x })[0];
        var g2 = autograd.grad(new[] { masked.sum() }, new[] { x })[0];
        CollectionAssert.AreEqual(Values(g2), Values(g1));
        using (inference_mode())
            foreach (bool overwrite in new[] { false, true })
                CollectionAssert.AreEqual(Values(masked.detach()), Values(MaskedPooling.Pool(x.detach().clone(), mask, kind, overwrite)));
    }
}
