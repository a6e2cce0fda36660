using Microsoft.ML;

namespace SetML.Tests.Foundation;

/// <summary>A row with a set column of 2-D points and labels of every kind.</summary>
public sealed class PointSetRow
{
    public float[] Points { get; set; } = Array.Empty<float>();
    public float Label { get; set; }
    public bool Flag { get; set; }
    public string Category { get; set; } = "";
}

/// <summary>Deterministic synthetic set data for tests.</summary>
internal static class TestSets
{
    /// <summary>Sets of 1..maxN points in [0,1]²; Label = max over points of x+y, Flag = more than 4 points, Category = size bucket.</summary>
    public static List<PointSetRow> Points(int count, int seed, int maxN = 8)
    {
        var rng = new Random(seed);
        var rows = new List<PointSetRow>(count);
        for (int i = 0; i < count; i++)
        {
            int n = rng.Next(1, maxN + 1);
            var p = new float[n * 2];
            for (int j = 0; j < p.Length; j++) p[j] = (float)rng.NextDouble();
            float label = Enumerable.Range(0, n).Max(k => p[2 * k] + p[2 * k + 1]);
            rows.Add(new PointSetRow { Points = p, Label = label, Flag = n > 4, Category = n <= 3 ? "small" : n <= 6 ? "medium" : "large" });
        }
        return rows;
    }

    public static IDataView Load(MLContext ml, IEnumerable<PointSetRow> rows) => ml.Data.LoadFromEnumerable(rows);

    /// <summary>A random set of n elements of dimension d.</summary>
    public static float[] RandomSet(Random rng, int n, int d)
        => Enumerable.Range(0, n * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    /// <summary>The set with its elements in the order given by <paramref name="perm"/>.</summary>
    public static float[] Permute(float[] set, int d, int[] perm)
    {
        var r = new float[set.Length];
        for (int i = 0; i < perm.Length; i++) Array.Copy(set, perm[i] * d, r, i * d, d);
        return r;
    }

    public static int[] RandomPermutation(Random rng, int n)
    {
        var p = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--) { int j = rng.Next(i + 1); (p[i], p[j]) = (p[j], p[i]); }
        return p;
    }
}
