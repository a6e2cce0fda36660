namespace SetML.Samples.Data;

/// <summary>A set of Fashion-MNIST images (each element = one image's pixels) with per-set and per-element labels.</summary>
public sealed class ImageSet
{
    /// <summary>The images' dataset indices, in set order.</summary>
    public int[] Images { get; init; } = Array.Empty<int>();
    /// <summary>The class of each image.</summary>
    public int[] Classes { get; init; } = Array.Empty<int>();
    /// <summary>The flat set: n·d pixel values in [0, 1] (d = pixels per image after downsampling).</summary>
    public float[] Set { get; init; } = Array.Empty<float>();
    /// <summary>Number of distinct classes in the set.</summary>
    public int DistinctClasses => Classes.Distinct().Count();
}

/// <summary>Generators of sets of Fashion-MNIST images for the unique-count and anomaly samples.</summary>
public static class ImageSets
{
    /// <summary>
    /// The image of <paramref name="index"/> as a flat vector, average-pooled by <paramref name="pool"/> (1 = 28×28 = 784
    /// values, 2 = 14×14 = 196) and scaled to [0, 1].
    /// </summary>
    public static float[] Pixels(FashionMnist data, int index, int pool)
    {
        int side = FashionMnist.Side / pool;
        var p = data.Pixels(index);
        var x = new float[side * side];
        for (int r = 0; r < FashionMnist.Side; r++)
            for (int c = 0; c < FashionMnist.Side; c++)
                x[(r / pool) * side + c / pool] += p[r * FashionMnist.Side + c] / (255f * pool * pool);
        return x;
    }

    /// <summary>Image indices of each class.</summary>
    public static List<int>[] ByClass(FashionMnist data)
    {
        var byClass = Enumerable.Range(0, FashionMnist.ClassNames.Count).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < data.Count; i++) byClass[data.Label(i)].Add(i);
        return byClass;
    }

    /// <summary>
    /// The Set Transformer paper's unique-counting sets (supplement §2.2): size n ~ U{6..10}, number of classes c ~ U{1..n},
    /// c distinct classes drawn, instances spread so each class has at least one and the total is n, shuffled.
    /// </summary>
    public static ImageSet UniqueCount(FashionMnist data, List<int>[] byClass, int pool, Random rng)
    {
        int n = rng.Next(6, 11);
        int c = rng.Next(1, Math.Min(n, byClass.Length) + 1);
        var classes = Enumerable.Range(0, byClass.Length).OrderBy(_ => rng.Next()).Take(c).ToList();
        var members = new List<int>(classes);
        while (members.Count < n) members.Add(classes[rng.Next(c)]);
        members = members.OrderBy(_ => rng.Next()).ToList();
        return Build(data, byClass, members, pool, rng);
    }

    /// <summary>
    /// An anomaly set (Set Transformer paper §5.4, with classes instead of CelebA attributes): <paramref name="size"/> − 1
    /// images of one class and one image of another class, at a random position. Returns the set and the anomaly's position.
    /// </summary>
    public static (ImageSet Set, int Anomaly) Anomaly(FashionMnist data, List<int>[] byClass, int size, int pool, Random rng)
    {
        int normal = rng.Next(byClass.Length);
        int odd = (normal + 1 + rng.Next(byClass.Length - 1)) % byClass.Length;
        int position = rng.Next(size);
        var members = Enumerable.Range(0, size).Select(i => i == position ? odd : normal).ToList();
        return (Build(data, byClass, members, pool, rng), position);
    }

    private static ImageSet Build(FashionMnist data, List<int>[] byClass, List<int> memberClasses, int pool, Random rng)
    {
        var images = memberClasses.Select(k => byClass[k][rng.Next(byClass[k].Count)]).ToArray();
        var set = images.SelectMany(i => Pixels(data, i, pool)).ToArray();
        return new ImageSet { Images = images, Classes = memberClasses.ToArray(), Set = set };
    }
}
