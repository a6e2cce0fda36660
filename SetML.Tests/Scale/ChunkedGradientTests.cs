using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Encoders;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Scale;

/// <summary>
/// UMBC's chunked training: the value equals the whole-set encoding and the gradient through one sampled chunk, scaled
/// by the number of chunks, is an unbiased estimate of the full-set gradient.
/// </summary>
[TestClass]
public sealed class ChunkedGradientTests
{
    private const int D = 3, ChunkSize = 8;
    private static readonly int[] Sizes = { 37, 20, 0 };                           // p = 5 chunks, the last one partial

    /// <summary>A tiny encoder + head and a squared loss on fixed sets; gradients of all parameters, flattened.</summary>
    private sealed class Problem : IDisposable
    {
        public readonly EncoderHeadNetwork Net;
        private readonly Tensor x, mask, y;

        public Problem(SetEncoder encoder)
        {
            Net = EncoderChecks.Seeded(11, () => new EncoderHeadNetwork(encoder, new[] { 6 }, 1));
            Net.eval();                                                            // fixed slot draw, so the full gradient is one number
            var rng = new Random(12);
            (x, mask) = SetBatch.Pad(Sizes.Select(n => TestSets.RandomSet(rng, n, D)).ToList(), D);
            y = torch.tensor(new[] { 0.5f, -1f, 2f });
        }

        public float[] Gradient(Func<Tensor, Tensor, Tensor> embed, out float[] embedding)
        {
            using var scope = torch.NewDisposeScope();
            Net.zero_grad();
            var e = embed(x, mask);
            embedding = e.detach().data<float>().ToArray();
            var loss = (Net.Head(e)[.., 0] - y).square().sum();
            loss.backward();
            return Net.parameters().SelectMany(p => p.grad is null ? new float[p.numel()] : p.grad.data<float>().ToArray()).ToArray();
        }

        public float[] FullGradient(out float[] embedding) => Gradient((a, m) => Net.Encoder.forward(a, m), out embedding);

        public void Dispose() { Net.Dispose(); x.Dispose(); mask.Dispose(); y.Dispose(); }
    }

    [TestMethod]
    public void ExpectationOverTheSampledChunk_IsTheFullSetGradient_ForEveryMbcEncoder()
    {
        // The exact expectation: the mean over all p chunks of the one-chunk estimate. Tolerance 1e-5·max(1, |g|).
        int p = ChunkedSetGradient.ChunkCount(Sizes.Max(), ChunkSize);
        Assert.AreEqual(5, p);
        foreach (var (name, encoder) in PartialStateTests.MbcEncoders(D))
        {
            using var problem = new Problem(encoder);
            var full = problem.FullGradient(out var fullEmbedding);
            var mean = new double[full.Length];
            for (int j = 0; j < p; j++)
            {
                var g = problem.Gradient((a, m) => ChunkedSetGradient.Encode(problem.Net.Encoder, a, m, ChunkSize, j), out var embedding);
                EncoderChecks.AssertClose(fullEmbedding, embedding, 1e-5, $"{name}: value with chunk {j} sampled");
                for (int i = 0; i < g.Length; i++) mean[i] += g[i] / (double)p;
            }
            Assert.IsTrue(full.Any(v => v != 0), name);
            EncoderChecks.AssertClose(full, mean.Select(v => (float)v).ToArray(), 1e-5, $"{name}: E_j[gradient] vs full-set gradient");
        }
    }

    [TestMethod]
    public void AverageOfManySampledEstimates_ConvergesToTheFullSetGradient()
    {
        // Monte Carlo with chunks drawn by a seeded Random: the error of the mean of N estimates must be within 3 standard
        // errors, ‖mean − full‖ ≤ 3·√(tr Σ̂ / N) with Σ̂ the estimates' empirical covariance, and below 10 % of ‖full‖.
        // An estimator off by the scale (a gradient through one chunk without the factor p, mean = full / p) fails both.
        using var problem = new Problem(EncoderChecks.Seeded(4, () => new DeepSetsEncoder(D, new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4, Pooling = PoolingKind.Sum })));
        var full = problem.FullGradient(out _);
        var rng = new Random(13);
        const int samples = 400;
        var estimates = new List<float[]>(samples);
        long live = 0;
        for (int s = 0; s < samples; s++)
        {
            estimates.Add(problem.Gradient((a, m) => ChunkedSetGradient.Encode(problem.Net.Encoder, a, m, ChunkSize, rng), out _));
            if (s == 0) live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        Assert.AreEqual(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount, "live tensors grew across chunked forward/backward passes");
        var mean = Enumerable.Range(0, full.Length).Select(i => estimates.Average(g => (double)g[i])).ToArray();
        double trace = estimates.Sum(g => g.Select((v, i) => Math.Pow(v - mean[i], 2)).Sum()) / (samples - 1);
        double standardError = Math.Sqrt(trace / samples);
        double error = Distance(mean, full), norm = Distance(new double[full.Length], full);
        Console.WriteLine($"‖mean − full‖ = {error:G3}, standard error {standardError:G3}, ‖full‖ = {norm:G3}, one estimate off by {Distance(estimates[0].Select(v => (double)v).ToArray(), full):G3}");
        Assert.IsLessThan(3 * standardError, error, "mean of the estimates vs full gradient, in standard errors");
        Assert.IsLessThan(0.1 * norm, error, "mean of the estimates vs full gradient, relative");
        int p = ChunkedSetGradient.ChunkCount(Sizes.Max(), ChunkSize);
        Assert.IsGreaterThan(3 * standardError, Distance(mean.Select(v => v / p).ToArray(), full), "an unscaled estimator would be detected");
    }

    private static double Distance(double[] a, float[] b) => Math.Sqrt(a.Select((v, i) => Math.Pow(v - b[i], 2)).Sum());

    [TestMethod]
    public void Trainer_WithGradientChunkSize_TrainsDeterministically_AndRejectsNonMbcEncoders()
    {
        var ml = new MLContext(seed: 1);
        var train = TestSets.Load(ml, TestSets.Points(60, 33, maxN: 40));
        SetRegressionOptions Options() => new()
        {
            Epochs = 3, Seed = 2, BatchSize = 8, GradientChunkSize = 5, LearningRate = 1e-2, HeadHiddenSizes = new[] { 8 },
            Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 4, Pooling = PoolingKind.Mean },
        };
        float[] Scores(ITransformer model) => ml.Data.CreateEnumerable<ScoreRow>(model.Transform(train), false).Select(r => r.Score).ToArray();
        using var a = ml.Regression.Trainers.SetRegression("Label", "Points", 2, Options()).Fit(train);
        using var b = ml.Regression.Trainers.SetRegression("Label", "Points", 2, Options()).Fit(train);
        var sa = Scores(a);
        CollectionAssert.AreEqual(sa, Scores(b), "same seed, same chunk draws, same model");
        var metrics = ml.Regression.Evaluate(a.Transform(train), "Label");
        Assert.IsTrue(double.IsFinite(metrics.MeanSquaredError));

        var bad = Options();
        bad.Encoder = new SetTransformerOptions { Layers = 1, Width = 8, Heads = 2 };
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Regression.Trainers.SetRegression("Label", "Points", 2, bad).Fit(train));
        Assert.Contains("mini-batch consistent", e.Message);
        var negative = Options();
        negative.GradientChunkSize = -1;
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => negative.Validate());
    }

    private sealed class ScoreRow
    {
        public float Score { get; set; }
    }
}
