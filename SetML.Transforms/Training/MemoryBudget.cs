using SetML.Models;
using SetML.SetColumns;

namespace SetML.Training;

/// <summary>
/// The memory a SetML forward pass may use. Before a batch of sets is turned into tensors — at <c>Fit</c> and at
/// prediction — SetML asks the model (<see cref="ModelSpec.EstimateForwardBytes"/>, built from each component's
/// estimate as a function of the set size n and the batch size) how much its forward pass needs, and compares it with
/// the budget: a batch that would exceed it is split into smaller batches (same results; at training, the gradients of
/// the parts are accumulated); a single set that would exceed it alone is refused with a <see cref="SetColumnException"/>
/// (rule <see cref="SetRule.MemoryBudget"/>) naming the column, the row, the set size, the estimate and the budget.
/// No native allocation is attempted, so the process never aborts inside libtorch.
/// </summary>
/// <remarks>
/// Training needs about <see cref="TrainingFactor"/> times the memory of a forward pass (activations kept for backward
/// plus their gradients). The budget is <c>SetTrainingOptions.MemoryBudgetBytes</c> at <c>Fit</c> and
/// <c>SetModelTransformer.MemoryBudgetBytes</c> at prediction (copied from the options; a loaded model uses the default,
/// as the budget belongs to the machine, not to the model file). 0 means <see cref="DefaultBytes"/>.
/// </remarks>
internal static class MemoryBudget
{
    /// <summary>The fraction of <see cref="AvailableBytes"/> that the default budget allows one forward pass: 0.5.</summary>
    public const double DefaultFraction = 0.5;

    /// <summary>How many times the forward-pass memory a training step needs (activations for backward + their gradients): 2.</summary>
    public const double TrainingFactor = 2;

    /// <summary>
    /// The memory this process may use: <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/> (the physical memory, or
    /// the container's or <c>GCHeapHardLimit</c>'s limit when one is set). Read once per process: the figure is fixed
    /// for its lifetime, and every prediction asks for it (reading it allocated and took ~4 % of a single-row
    /// prediction's managed memory).
    /// </summary>
    public static long AvailableBytes => Available.Value;

    private static readonly Lazy<long> Available = new(() =>
    {
        long bytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > 0) return bytes;
        GC.Collect(0);                                      // the figure is filled in by the first garbage collection
        bytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return bytes > 0 ? bytes : 4L << 30;                // unknown: assume a small 4 GiB machine
    });

    /// <summary>The default budget: <see cref="DefaultFraction"/> × <see cref="AvailableBytes"/>.</summary>
    public static long DefaultBytes => (long)(AvailableBytes * DefaultFraction);

    /// <summary>The budget in effect for a configured value (0 = <see cref="DefaultBytes"/>).</summary>
    public static long Resolve(long configuredBytes) => configuredBytes > 0 ? configuredBytes : DefaultBytes;

    /// <summary>A byte count for messages: "1.5 GB", "16 TB".</summary>
    public static string Format(double bytes)
    {
        string[] units = { "bytes", "KB", "MB", "GB", "TB", "PB", "EB" };
        int u = 0;
        while (bytes >= 1000 && u < units.Length - 1) { bytes /= 1000; u++; }
        return u == 0 ? $"{bytes:0} bytes" : double.IsInfinity(bytes) || bytes >= 1000 ? $"more than 1000 {units[u]}" : $"{bytes:0.#} {units[u]}";
    }
}

/// <summary>
/// Applies a <see cref="MemoryBudget"/> to one model: refuses single sets whose forward pass alone exceeds it and splits
/// batches that would exceed it. Rows are given as their set sizes per model input (0 for vector inputs).
/// </summary>
internal sealed class MemoryGuard
{
    private readonly ModelSpec _spec;
    private readonly double _factor;
    private readonly string _optionName;

    /// <param name="spec">The model.</param>
    /// <param name="budgetBytes">The configured budget (0 = default).</param>
    /// <param name="training">Whether the forward pass also runs backward (× <see cref="MemoryBudget.TrainingFactor"/>).</param>
    /// <param name="optionName">Where the user raises the budget (named in messages).</param>
    public MemoryGuard(ModelSpec spec, long budgetBytes, bool training, string optionName)
    {
        _spec = spec;
        Budget = MemoryBudget.Resolve(budgetBytes);
        _factor = training ? MemoryBudget.TrainingFactor : 1;
        _optionName = optionName;
    }

    /// <summary>The budget in bytes.</summary>
    public long Budget { get; }

    /// <summary>Estimated bytes of a batch of <paramref name="batch"/> rows whose largest sets have <paramref name="sizes"/> elements.</summary>
    public double Bytes(int batch, IReadOnlyList<long> sizes) => _spec.EstimateForwardBytes(batch, sizes) * _factor;

    /// <summary>
    /// Throws <see cref="SetColumnException"/> (rule <see cref="SetRule.MemoryBudget"/>) for the first row whose set
    /// alone needs more than the budget. <paramref name="sizes"/>(r) are the set sizes of row r per input.
    /// </summary>
    /// <param name="rows">Number of rows.</param>
    /// <param name="sizes">Set sizes of row r, per model input.</param>
    /// <param name="rowIndex">Row number reported for row r (its index in the data view it was read from).</param>
    /// <param name="where">Text after the row in the message, e.g. " of the validation data"; empty for none.</param>
    public void CheckRows(int rows, Func<int, long[]> sizes, Func<int, long> rowIndex, string where = "")
    {
        for (int r = 0; r < rows; r++) CheckRow(sizes(r), rowIndex(r), where);
    }

    /// <summary>
    /// <see cref="CheckRows"/> for one row: <paramref name="s"/> are its set sizes per model input, <paramref name="row"/>
    /// its number in the data view it was read from.
    /// </summary>
    public void CheckRow(long[] s, long row, string where = "")
    {
        double bytes = Bytes(1, s);
        if (bytes > Budget) ThrowTooLarge(s, row, where, bytes);
    }

    // Apart from CheckRow so that a row that fits allocates nothing (the message's lambdas capture s).
    private void ThrowTooLarge(long[] s, long row, string where, double bytes)
    {
        int input = Enumerable.Range(0, s.Length).Where(i => _spec.Inputs[i].Kind == ModelInputKind.Set).MaxBy(i => s[i]);
        var column = _spec.Inputs[input];
        long fits = LargestFittingSize(s, input);
        throw new SetColumnException(column.ColumnName, row, SetRule.MemoryBudget,
            $"the set{where} has {s[input]} elements (d = {column.ElementDimension}); the forward pass of this model ({_spec.DescribeMemory()}) " +
            $"would need about {MemoryBudget.Format(bytes)} for it{(_factor > 1 ? " at training" : "")}, more than the memory budget of {MemoryBudget.Format(Budget)} " +
            $"(sets of up to about {fits} elements fit). Nothing was allocated. Raise {_optionName} (default: {MemoryBudget.DefaultFraction:P0} of the available memory), " +
            "use an encoder whose memory is linear in the set size (Deep Sets, ISAB, Slot Set Encoder), or split or subsample the set");
    }

    /// <summary>The largest size of input <paramref name="input"/> that fits alone, the other inputs as in <paramref name="sizes"/>.</summary>
    public long LargestFittingSize(long[] sizes, int input)
    {
        long lo = 0, hi = Math.Max(1, sizes[input]);
        var probe = sizes.ToArray();
        while (lo < hi)
        {
            long mid = lo + (hi - lo + 1) / 2;
            probe[input] = mid;
            if (Bytes(1, probe) <= Budget) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>
    /// The batch <paramref name="rows"/> as is when it fits the budget; otherwise split into parts that fit (rows sorted by
    /// size and cut greedily, so a large set does not make the small ones pad to its size). Every single row must fit
    /// (see <see cref="CheckRows"/>).
    /// </summary>
    public IReadOnlyList<int[]> Split(int[] rows, Func<int, long[]> sizes)
    {
        if (rows.Length <= 1) return new[] { rows };
        var all = rows.Select(sizes).ToArray();
        var max = new long[all[0].Length];
        foreach (var s in all) for (int i = 0; i < s.Length; i++) max[i] = Math.Max(max[i], s[i]);
        if (Bytes(rows.Length, max) <= Budget) return new[] { rows };

        var order = Enumerable.Range(0, rows.Length).OrderBy(k => all[k].Max()).ToArray();
        var parts = new List<int[]>();
        var current = new List<int>();
        var currentMax = new long[max.Length];
        foreach (int k in order)
        {
            var candidate = currentMax.Zip(all[k], Math.Max).ToArray();
            if (current.Count > 0 && Bytes(current.Count + 1, candidate) > Budget)
            {
                parts.Add(current.Select(j => rows[j]).ToArray());
                current.Clear();
                candidate = all[k].ToArray();
            }
            current.Add(k);
            currentMax = candidate;
        }
        parts.Add(current.Select(j => rows[j]).ToArray());
        return parts;
    }
}
