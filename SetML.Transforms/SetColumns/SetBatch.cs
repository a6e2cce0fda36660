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
    /// <summary>Nmax of <see cref="Pad"/>: max(1, max_i n_i, <paramref name="minimumLength"/>), without creating any tensor.</summary>
    internal static int PaddedLength(IReadOnlyList<float[]> sets, int elementDimension, int minimumLength = 0)
    {
        // At least one (masked) slot: a batch of empty sets is still a well-formed [B, 1, d] tensor, so no module
        // ever reduces over an empty axis (max over zero elements is undefined; SetML returns 0 for empty sets).
        int nmax = Math.Max(minimumLength, 1);
        foreach (var s in sets) nmax = Math.Max(nmax, s.Length / elementDimension);
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
    {
        int b = sets.Count, d = elementDimension;
        int nmax = PaddedLength(sets, d, minimumLength);
        // Written straight into libtorch's storage: torch.tensor(array) would clone the array, pin the clone and register
        // a deleter in a process-wide dictionary for every batch (and every single-row prediction).
        var (x, m) = (long)b * nmax * d * sizeof(float) <= int.MaxValue ? PadInPlace(sets, b, nmax, d) : PadThroughArrays(sets, b, nmax, d);
        if (device != null && device.type != DeviceType.CPU)
        {
            var (x2, m2) = (x.to(device), m.to(device));
            x.Dispose(); m.Dispose();
            return (x2, m2);
        }
        return (x, m);
    }

    private static (Tensor X, Tensor Mask) PadInPlace(IReadOnlyList<float[]> sets, int b, int nmax, int d)
    {
        var x = torch.empty(new long[] { b, nmax, d }, ScalarType.Float32);
        var m = torch.empty(new long[] { b, nmax }, ScalarType.Bool);
        var xs = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(x.bytes);
        var ms = m.bytes;
        for (int i = 0; i < b; i++)
        {
            var s = sets[i];
            int n = s.Length / d;
            var row = xs.Slice(i * nmax * d, nmax * d);
            s.AsSpan().CopyTo(row);
            row[s.Length..].Clear();
            var present = ms.Slice(i * nmax, nmax);
            present[..n].Fill(1);
            present[n..].Clear();
        }
        return (x, m);
    }

    // Over 2 GB of elements (beyond Tensor.bytes' int length): through .NET arrays.
    private static (Tensor X, Tensor Mask) PadThroughArrays(IReadOnlyList<float[]> sets, int b, int nmax, int d)
    {
        var data = new float[(long)b * nmax * d];
        var mask = new bool[(long)b * nmax];
        for (int i = 0; i < b; i++)
        {
            var s = sets[i];
            Array.Copy(s, 0, data, (long)i * nmax * d, s.Length);
            int n = s.Length / d;
            for (int j = 0; j < n; j++) mask[(long)i * nmax + j] = true;
        }
        return (torch.tensor(data, new long[] { b, nmax, d }), torch.tensor(mask, new long[] { b, nmax }));
    }

    /// <summary>Removes the padding of row <paramref name="row"/>: the real elements as a flat n·d array.</summary>
    public static float[] Unpad(Tensor x, Tensor mask, int row)
    {
        using var scope = torch.NewDisposeScope();
        var xi = x[row].cpu();
        var mi = mask[row].cpu();
        var kept = xi[mi];
        return kept.contiguous().CopyToArray<float>();
    }
}
