using Microsoft.ML;

namespace SetML.Samples.Data;

/// <summary>A row with a set column and a class label (ML.NET input of the point-set samples).</summary>
public sealed class LabelledSet
{
    /// <summary>The flat set: n·d Singles.</summary>
    public float[] Set { get; set; } = Array.Empty<float>();
    /// <summary>Class name (turned into a key with <c>MapValueToKey</c>).</summary>
    public string Label { get; set; } = "";
    /// <summary>Class number (0-based), for pictures.</summary>
    public int ClassIndex { get; set; }
}

/// <summary>Fashion-MNIST images as 2-D point sets (DSPN's construction, <see cref="FashionMnist.ToPointSet(ReadOnlySpan{byte})"/>).</summary>
public static class FashionPointSets
{
    /// <summary>
    /// Point sets of the first <paramref name="count"/> images of <paramref name="split"/>. When <paramref name="maxPoints"/>
    /// is positive, sets larger than that keep a random subset of that many points (seeded), so every encoder gets the
    /// same, bounded cost per set.
    /// </summary>
    public static List<LabelledSet> Load(FashionMnistSplit split, int count, int maxPoints, int seed)
    {
        var data = FashionMnist.Load(split, count);
        var rng = new Random(seed);
        var rows = new List<LabelledSet>(data.Count);
        for (int i = 0; i < data.Count; i++)
        {
            var set = data.PointSet(i);
            if (maxPoints > 0) set = Subsample(set, 2, maxPoints, rng);
            rows.Add(new LabelledSet { Set = set, Label = FashionMnist.ClassNames[data.Label(i)], ClassIndex = data.Label(i) });
        }
        return rows;
    }

    /// <summary>A random subset of <paramref name="max"/> elements (order kept) of a flat set with element dimension <paramref name="d"/>.</summary>
    public static float[] Subsample(float[] set, int d, int max, Random rng)
    {
        int n = set.Length / d;
        if (n <= max) return set;
        var keep = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(max).Order().ToArray();
        var result = new float[max * d];
        for (int k = 0; k < max; k++) Array.Copy(set, keep[k] * d, result, k * d, d);
        return result;
    }

    /// <summary>
    /// The point sets of <c>../shared/bench/pointsets_reference.py</c>, bit for bit: each image of the first
    /// <paramref name="count"/> of <paramref name="split"/> becomes the set of its pixels brighter than the image's mean,
    /// as (x, y, intensity) = (column/27, row/27, value/255) in row-major order; a set with more than
    /// <paramref name="points"/> pixels keeps <c>rng.choice(n, points, replace=False)</c> of them, in that order, with
    /// <c>rng = np.random.default_rng(seed)</c> drawn once per image in image order (<see cref="NumPyRandom"/>). The
    /// reference uses seed 0 for the training split and 1 for the test split.
    /// </summary>
    public static List<LabelledSet> LoadReference(FashionMnist data, int points, ulong seed)
    {
        var rng = new NumPyRandom(seed);
        var rows = new List<LabelledSet>(data.Count);
        for (int i = 0; i < data.Count; i++)
        {
            var img = data.Pixels(i);
            double mean = 0;
            foreach (var p in img) mean += p;
            mean /= FashionMnist.PixelCount;
            var bright = new List<int>();
            for (int k = 0; k < img.Length; k++) if (img[k] > mean) bright.Add(k);
            IReadOnlyList<int> keep = bright;
            if (bright.Count > points) keep = rng.ChooseWithoutReplacement(bright.Count, points).Select(j => bright[(int)j]).ToArray();
            var set = new float[3 * keep.Count];
            for (int e = 0; e < keep.Count; e++)
            {
                int r = keep[e] / FashionMnist.Side, c = keep[e] % FashionMnist.Side;
                set[3 * e] = (float)(c / 27.0);
                set[3 * e + 1] = (float)(r / 27.0);
                set[3 * e + 2] = (float)(img[keep[e]] / 255.0);
            }
            rows.Add(new LabelledSet { Set = set, Label = FashionMnist.ClassNames[data.Label(i)], ClassIndex = data.Label(i) });
        }
        return rows;
    }

    /// <summary>The key-mapping step every classification pipeline of the samples starts with (Label → key, class names kept in order).</summary>
    public static IEstimator<ITransformer> MapLabel(MLContext ml)
        => ml.Transforms.Conversion.MapValueToKey("Label", keyData: ml.Data.LoadFromEnumerable(
            FashionMnist.ClassNames.Select(n => new ClassName { Label = n })));

    private sealed class ClassName
    {
        public string Label { get; set; } = "";
    }
}
