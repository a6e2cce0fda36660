using SetML.Modules;
using SetML.SetColumns;
using SetML.Tests.Foundation;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Encoders;

/// <summary>The checks every set encoder must pass (shared by the encoder test classes).</summary>
internal static class EncoderChecks
{
    public const double Tolerance = 1e-5;

    /// <summary>Encodes ragged sets in one padded batch (eval mode, no grad).</summary>
    public static float[][] Encode(nn.Module<Tensor, Tensor, Tensor> encoder, IReadOnlyList<float[]> sets, int d, int minimumLength = 0)
    {
        encoder.eval();
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (x, mask) = SetBatch.Pad(sets, d, minimumLength: minimumLength);
        var y = encoder.forward(x, mask).cpu().contiguous();
        long b = y.shape[0];
        var flat = y.data<float>().ToArray();
        long f = flat.Length / Math.Max(1, b);
        return Enumerable.Range(0, (int)b).Select(i => flat.Skip((int)(i * f)).Take((int)f).ToArray()).ToArray();
    }

    /// <summary>Asserts |a − b| ≤ tol·max(1, |b|) elementwise.</summary>
    public static void AssertClose(float[] expected, float[] actual, double tol, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what + ": length");
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.IsTrue(float.IsFinite(actual[i]), $"{what}: value {i} is {actual[i]}");
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.IsTrue(err <= tol * Math.Max(1, Math.Abs(expected[i])), $"{what}: value {i} expected {expected[i]} got {actual[i]} (error {err:G3})");
        }
    }

    /// <summary>Asserts that each row of the embeddings <c>y [B, D]</c> is close to <paramref name="expected"/>[b] (AssertClose per set).</summary>
    public static void AssertRowsClose(float[][] expected, Tensor y, double tol, string what)
    {
        var rows = Rows(y);
        Assert.AreEqual(expected.Length, rows.Length, what + ": number of sets");
        for (int i = 0; i < expected.Length; i++) AssertClose(expected[i], rows[i], tol, $"{what}, set {i}");
    }

    private static float[][] Rows(Tensor y)
    {
        var c = y.cpu().contiguous();
        long b = c.shape[0], f = c.shape[1];
        var flat = c.data<float>().ToArray();
        return Enumerable.Range(0, (int)b).Select(i => flat[(int)(i * f)..(int)((i + 1) * f)]).ToArray();
    }

    /// <summary>Permutation invariance: encoding a permuted set gives the same embedding.</summary>
    public static void PermutationInvariant(SetEncoder encoder, int seed = 1, int n = 7)
    {
        int d = encoder.InputDimension;
        var rng = new Random(seed);
        for (int trial = 0; trial < 3; trial++)
        {
            var set = TestSets.RandomSet(rng, n, d);
            var permuted = TestSets.Permute(set, d, TestSets.RandomPermutation(rng, n));
            var y = Encode(encoder, new[] { set, permuted }, d);
            AssertClose(y[0], y[1], Tolerance, $"{encoder.GetType().Name} permutation invariance, trial {trial}");
        }
    }

    /// <summary>Padding invariance: a ragged batch (with extra padding) gives the same outputs as each set alone.</summary>
    public static void PaddingInvariant(SetEncoder encoder, int seed = 2)
    {
        int d = encoder.InputDimension;
        var rng = new Random(seed);
        var sets = new[] { 1, 4, 0, 6, 2 }.Select(n => TestSets.RandomSet(rng, n, d)).ToArray();
        var batch = Encode(encoder, sets, d, minimumLength: 9);
        for (int i = 0; i < sets.Length; i++)
        {
            var alone = Encode(encoder, new[] { sets[i] }, d);
            AssertClose(alone[0], batch[i], Tolerance, $"{encoder.GetType().Name} padding invariance, set {i} (n = {sets[i].Length / d})");
        }
    }

    /// <summary>Empty and single-element sets give finite embeddings of the right size.</summary>
    public static void EmptyAndSingleFinite(SetEncoder encoder)
    {
        int d = encoder.InputDimension;
        var rng = new Random(3);
        var y = Encode(encoder, new[] { Array.Empty<float>(), TestSets.RandomSet(rng, 1, d) }, d);
        foreach (var row in y)
        {
            Assert.AreEqual(encoder.OutputDimension, row.Length);
            Assert.IsTrue(row.All(float.IsFinite), $"{encoder.GetType().Name}: non-finite output for an empty or single-element set");
        }
        var onlyEmpty = Encode(encoder, new[] { Array.Empty<float>() }, d);         // a batch with Nmax = 0
        Assert.IsTrue(onlyEmpty[0].All(float.IsFinite), $"{encoder.GetType().Name}: non-finite output for a batch of one empty set");
        AssertClose(y[0], onlyEmpty[0], Tolerance, $"{encoder.GetType().Name}: empty set alone vs in a batch");
    }

    /// <summary>All three checks.</summary>
    public static void All(SetEncoder encoder)
    {
        PermutationInvariant(encoder);
        PaddingInvariant(encoder);
        EmptyAndSingleFinite(encoder);
    }

    /// <summary>Creates a module under a fixed global seed (weights are deterministic).</summary>
    public static T Seeded<T>(int seed, Func<T> create)
    {
        lock (SetML.Training.TorchRuntime.InitializationLock)
        {
            SetML.Training.TorchRuntime.Seed(seed);
            return create();
        }
    }

    /// <summary>The path of a file in SetML.Tests/Fixtures (found by walking up from the test assembly).</summary>
    public static string FixturePath(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, "SetML.Tests", "Fixtures", name);
            if (File.Exists(p)) return p;
            p = Path.Combine(dir.FullName, "Fixtures", name);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException($"Fixture {name} not found above {AppContext.BaseDirectory}.");
    }
}
