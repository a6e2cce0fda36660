namespace SetML.SetColumns;

/// <summary>
/// Per-feature standardization of set elements: feature j of every element becomes (x_j − <see cref="Mean"/>[j]) /
/// <see cref="Scale"/>[j]. The statistics are the mean and standard deviation of feature j over all <em>real</em>
/// elements of all training sets (padding does not exist at this level and empty sets contribute nothing), so — unlike
/// ML.NET's per-slot normalizers, for which slot 7 is a different element in every row — they describe the elements
/// themselves. Stored in the model spec (JSON) and applied to every set before padding, at training and at prediction;
/// a model without statistics (older model files) uses the identity. Used with element dimension 1 for regression labels too.
/// </summary>
public sealed class SetElementNormalization
{
    /// <summary>Per-feature mean (d values).</summary>
    public float[] Mean { get; set; } = Array.Empty<float>();

    /// <summary>Per-feature standard deviation (d values, all &gt; 0; a constant feature gets 1, so it becomes 0).</summary>
    public float[] Scale { get; set; } = Array.Empty<float>();

    /// <summary>Number of elements the statistics were computed from.</summary>
    public long Count { get; set; }

    /// <summary>Element dimension d.</summary>
    public int Dimension => Mean.Length;

    /// <summary>
    /// The statistics of <paramref name="sets"/> (each n_i·d values, element-major): mean and (population) standard deviation
    /// per feature over all elements of all sets, accumulated in double precision.
    /// </summary>
    /// <remarks>When no set has any element, the statistics are the identity (mean 0, scale 1, <see cref="Count"/> 0).</remarks>
    public static SetElementNormalization Compute(IEnumerable<float[]> sets, int elementDimension)
    {
        if (elementDimension < 1) throw new ArgumentOutOfRangeException(nameof(elementDimension), elementDimension, "The element dimension must be ≥ 1.");
        int d = elementDimension;
        var sum = new double[d];
        long n = 0;
        var list = sets as IReadOnlyList<float[]> ?? sets.ToList();
        foreach (var s in list)
        {
            for (int i = 0; i < s.Length; i++) sum[i % d] += s[i];
            n += s.Length / d;
        }
        if (n == 0) return new SetElementNormalization { Mean = new float[d], Scale = Enumerable.Repeat(1f, d).ToArray() };
        var mean = sum.Select(v => v / n).ToArray();
        var sq = new double[d];
        foreach (var s in list)
            for (int i = 0; i < s.Length; i++) { double c = s[i] - mean[i % d]; sq[i % d] += c * c; }
        var scale = new float[d];
        for (int j = 0; j < d; j++)
        {
            double sd = Math.Sqrt(sq[j] / n);
            // A feature constant over the training data (sd ≈ 0 relative to its magnitude) only shifts to 0.
            scale[j] = sd > 1e-12 * Math.Max(1, Math.Abs(mean[j])) && float.IsFinite((float)sd) && (float)sd > 0 ? (float)sd : 1f;
        }
        return new SetElementNormalization { Mean = mean.Select(v => (float)v).ToArray(), Scale = scale, Count = n };
    }

    /// <summary>A normalized copy of a set (n·d values).</summary>
    public float[] Apply(float[] set)
    {
        var r = new float[set.Length];
        Apply(set, r);
        return r;
    }

    /// <summary>Writes the normalized <paramref name="set"/> into <paramref name="destination"/> (of the same length).</summary>
    internal void Apply(ReadOnlySpan<float> set, Span<float> destination)
    {
        int d = Mean.Length;
        for (int i = 0; i < set.Length; i++) destination[i] = (float)(((double)set[i] - Mean[i % d]) / Scale[i % d]);
    }

    /// <summary>Normalizes every set of <paramref name="sets"/> in place (replacing the arrays).</summary>
    public void ApplyInPlace(IList<float[]> sets)
    {
        for (int i = 0; i < sets.Count; i++) sets[i] = Apply(sets[i]);
    }

    /// <summary>The inverse map of one value of feature <paramref name="feature"/>: x·scale + mean.</summary>
    public float Invert(float value, int feature = 0) => (float)((double)value * Scale[feature] + Mean[feature]);

    /// <summary>Maps a normalized set (n·d values, element-major) back to the original units in place: x·scale + mean per feature.</summary>
    internal void InvertInPlace(float[] set)
    {
        int d = Mean.Length;
        for (int i = 0; i < set.Length; i++) set[i] = Invert(set[i], i % d);
    }

    /// <summary>Checks that the statistics fit element dimension <paramref name="elementDimension"/> (after loading a model file).</summary>
    /// <exception cref="InvalidDataException">The lengths disagree or a scale is not positive and finite.</exception>
    public void Validate(int elementDimension, string columnName)
    {
        if (Mean.Length != elementDimension || Scale.Length != elementDimension)
            throw new InvalidDataException($"The element statistics of column '{columnName}' have {Mean.Length} means and {Scale.Length} scales, but the element dimension is {elementDimension}.");
        for (int j = 0; j < elementDimension; j++)
            if (!float.IsFinite(Mean[j]) || !(Scale[j] > 0) || !float.IsFinite(Scale[j]))
                throw new InvalidDataException($"The element statistics of column '{columnName}' are invalid at feature {j}: mean {Mean[j]}, scale {Scale[j]}.");
    }
}
