using TorchSharp;
using static TorchSharp.torch;
using SetML.Modules;

namespace SetML.SetColumns;

/// <summary>
/// Turns ragged sets into the padded representation every SetML module consumes: a tensor
/// <c>[B, Nmax, d]</c> of elements and a boolean mask <c>[B, Nmax]</c> that is true for real elements.
/// Padded positions hold zeros and modules must ignore them (padding never changes a result).
/// </summary>
public static class SetBatch
{
    /// <summary>Nmax of <see cref="Pad(IReadOnlyList{float[]}, int, Device, int)"/>: max(1, max_i n_i, <paramref name="minimumLength"/>), without creating any tensor.</summary>
    internal static int PaddedLength(IReadOnlyList<float[]> sets, int elementDimension, int minimumLength = 0)
    {
        // At least one (masked) slot: a batch of empty sets is still a well-formed [B, 1, d] tensor, so no module
        // ever reduces over an empty axis (max over zero elements is undefined; SetML returns 0 for empty sets).
        int nmax = Math.Max(minimumLength, 1);
        for (int i = 0; i < sets.Count; i++) nmax = Math.Max(nmax, sets[i].Length / elementDimension);   // no enumerator object
        return nmax;
    }

    /// <summary>
    /// Pads <paramref name="sets"/> (each of length n_i·d, row-major) into <c>(x [B, Nmax, d], mask [B, Nmax])</c>,
    /// with Nmax = max(1, max_i n_i, <paramref name="minimumLength"/>).
    /// </summary>
    /// <param name="sets">The sets, each a flat array of n_i·d values.</param>
    /// <param name="elementDimension">The element dimension d.</param>
    /// <param name="device">Where to create the tensors (CPU when null).</param>
    /// <param name="minimumLength">Pad to at least this many elements (useful for tests of padding invariance).</param>
    public static (Tensor X, Tensor Mask) Pad(IReadOnlyList<float[]> sets, int elementDimension, Device? device = null, int minimumLength = 0)
        => Pad(sets, elementDimension, device, minimumLength, normalization: null);

    /// <summary>
    /// <see cref="Pad(IReadOnlyList{float[]}, int, Device, int)"/> with each set standardized by
    /// <paramref name="normalization"/> on its way into the tensor (the values <see cref="SetElementNormalization.Apply(float[])"/>
    /// gives, without a normalized copy of every set).
    /// </summary>
    internal static (Tensor X, Tensor Mask) Pad(IReadOnlyList<float[]> sets, int elementDimension, Device? device, int minimumLength,
        SetElementNormalization? normalization)
    {
        int b = sets.Count, d = elementDimension;
        int nmax = PaddedLength(sets, d, minimumLength);
        // Static writers over a struct state: no closure or delegate per call (a PredictionEngine pads every row).
        var x = TensorData.Create(new long[] { b, nmax, d }, (sets, nmax, d, normalization), static (Span<float> elements, (IReadOnlyList<float[]> Sets, int NMax, int D, SetElementNormalization? Normalization) s) =>
        {
            int width = s.NMax * s.D;
            for (int i = 0; i < s.Sets.Count; i++)
            {
                var set = s.Sets[i];
                var row = elements.Slice(i * width, width);
                if (s.Normalization != null) s.Normalization.Apply(set, row[..set.Length]);
                else set.AsSpan().CopyTo(row);
                row[set.Length..].Clear();
            }
        });
        var m = TensorData.Create(new long[] { b, nmax }, (sets, nmax, d), static (Span<bool> present, (IReadOnlyList<float[]> Sets, int NMax, int D) s) =>
        {
            for (int i = 0; i < s.Sets.Count; i++)
            {
                var row = present.Slice(i * s.NMax, s.NMax);
                int n = s.Sets[i].Length / s.D;
                row[..n].Fill(true);
                row[n..].Clear();
            }
        });
        if (device != null && device.type != DeviceType.CPU)
        {
            var (x2, m2) = (x.to(device), m.to(device));
            x.Dispose(); m.Dispose();
            return (x2, m2);
        }
        return (x, m);
    }

    /// <summary>Removes the padding of row <paramref name="row"/>: the real elements as a flat n·d array.</summary>
    public static float[] Unpad(Tensor x, Tensor mask, int row)
    {
        using var scope = torch.NewDisposeScope();
        var xi = x[row].cpu();
        var mi = mask[row].cpu();
        var kept = xi[mi];
        return kept.CopyToArray<float>();
    }
}
