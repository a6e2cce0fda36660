namespace SetML.Losses;

/// <summary>
/// Exact solver of the (rectangular) linear assignment problem: given a cost matrix C of r rows and c columns, find the
/// one-to-one matching of min(r, c) pairs with the smallest total cost. This is the matching behind the Hungarian set
/// loss <c>L_hun(Ŷ, Y) = min_π Σ_i c(ŷ_i, y_π(i))</c> of the DSPN paper.
/// </summary>
/// <remarks>
/// <para>Algorithm: Kuhn–Munkres in the shortest-augmenting-path form of Jonker and Volgenant (row by row, Dijkstra on
/// reduced costs with dual potentials u, v), O(r² c) time and O(r + c) extra memory for r ≤ c (a matrix with more rows
/// than columns is solved transposed). Costs are doubles and may be any finite values (negative, fractional, tied).</para>
/// <para>Why not Google OR-Tools' <c>LinearSumAssignment</c>: it takes integer costs only, so real-valued set losses
/// would have to be scaled and rounded (losing exactness for close costs and ties), and it would add a large native
/// dependency for a hundred lines of code.</para>
/// </remarks>
public static class LinearAssignment
{
    /// <summary>
    /// Solves one problem. <paramref name="cost"/> is row-major, <paramref name="rows"/> × <paramref name="columns"/>.
    /// Returns, for each row, its assigned column, or −1 for the rows left unassigned when rows &gt; columns.
    /// </summary>
    /// <exception cref="ArgumentException">A cost is NaN or ±Infinity, or the sizes do not match.</exception>
    public static int[] Solve(ReadOnlySpan<double> cost, int rows, int columns)
    {
        if (rows < 0 || columns < 0) throw new ArgumentException($"The cost matrix size {rows}×{columns} is invalid.", nameof(rows));
        if (cost.Length != (long)rows * columns)
            throw new ArgumentException($"The cost array has {cost.Length} values but a {rows}×{columns} matrix needs {(long)rows * columns}.", nameof(cost));
        for (int k = 0; k < cost.Length; k++)
            if (!double.IsFinite(cost[k]))
                throw new ArgumentException(
                    $"Assignment cost [{k / columns}, {k % columns}] is {cost[k]}; every cost must be finite. " +
                    "A NaN or infinite cost usually means the predictions or targets contain NaN/Inf (check the inputs or lower the learning rate).",
                    nameof(cost));
        if (rows == 0 || columns == 0) return Enumerable.Repeat(-1, rows).ToArray();
        if (rows <= columns) return SolveWide(cost, rows, columns);

        // More rows than columns: solve the transpose (columns ≤ rows), then invert the matching.
        var t = new double[cost.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++) t[(long)j * rows + i] = cost[i * columns + j];
        var colToRow = SolveWide(t, columns, rows);
        var result = Enumerable.Repeat(-1, rows).ToArray();
        for (int j = 0; j < columns; j++) result[colToRow[j]] = j;
        return result;
    }

    /// <summary>Solves one problem given as a 2-D array (see <see cref="Solve(ReadOnlySpan{double}, int, int)"/>).</summary>
    public static int[] Solve(double[,] cost)
    {
        int r = cost.GetLength(0), c = cost.GetLength(1);
        var flat = new double[r * c];
        Buffer.BlockCopy(cost, 0, flat, 0, flat.Length * sizeof(double));
        return Solve(flat, r, c);
    }

    /// <summary>
    /// Solves a mini-batch of independent problems, in parallel when the batch is large enough to pay for it.
    /// <paramref name="costs"/>[b] is row-major <paramref name="rows"/>[b] × <paramref name="columns"/>[b].
    /// </summary>
    public static int[][] SolveBatch(IReadOnlyList<double[]> costs, IReadOnlyList<int> rows, IReadOnlyList<int> columns)
    {
        if (costs.Count != rows.Count || costs.Count != columns.Count)
            throw new ArgumentException("costs, rows and columns must have one entry per problem.", nameof(costs));
        var result = new int[costs.Count][];
        long work = 0;
        for (int b = 0; b < costs.Count; b++) work += (long)Math.Min(rows[b], columns[b]) * rows[b] * columns[b];
        // Below ~50k multiply-adds in total a thread hop costs more than it saves.
        if (costs.Count > 1 && work > 50_000 && Environment.ProcessorCount > 1)
            Parallel.For(0, costs.Count, b => result[b] = Solve(costs[b], rows[b], columns[b]));
        else
            for (int b = 0; b < costs.Count; b++) result[b] = Solve(costs[b], rows[b], columns[b]);
        return result;
    }

    /// <summary>Total cost of an assignment returned by <see cref="Solve(ReadOnlySpan{double}, int, int)"/>.</summary>
    public static double TotalCost(ReadOnlySpan<double> cost, int columns, int[] assignment)
    {
        double s = 0;
        for (int i = 0; i < assignment.Length; i++)
            if (assignment[i] >= 0) s += cost[i * columns + assignment[i]];
        return s;
    }

    // Shortest augmenting paths, rows ≤ columns. Dual potentials u (rows), v (columns); p[j] = row matched to
    // column j (1-based, 0 = free; column 0 is the virtual source); way[j] = previous column on the shortest path.
    // Each row is inserted by a Dijkstra over columns on reduced costs c(i,j) − u_i − v_j ≥ 0 (Jonker–Volgenant).
    private static int[] SolveWide(ReadOnlySpan<double> a, int n, int m)
    {
        var u = new double[n + 1];
        var v = new double[m + 1];
        var p = new int[m + 1];
        var way = new int[m + 1];
        var minv = new double[m + 1];
        var used = new bool[m + 1];
        for (int i = 1; i <= n; i++)
        {
            p[0] = i;
            int j0 = 0;
            Array.Fill(minv, double.PositiveInfinity);
            Array.Clear(used);
            do
            {
                used[j0] = true;
                int i0 = p[j0], j1 = 0;
                double delta = double.PositiveInfinity, ui0 = u[i0];
                var row = a.Slice((i0 - 1) * m, m);
                for (int j = 1; j <= m; j++)
                {
                    if (used[j]) continue;
                    double cur = row[j - 1] - ui0 - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (int j = 0; j <= m; j++)
                {
                    if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                }
                j0 = j1;
            } while (p[j0] != 0);
            do
            {
                int j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        var rowToCol = new int[n];
        for (int j = 1; j <= m; j++)
            if (p[j] != 0) rowToCol[p[j] - 1] = j - 1;
        return rowToCol;
    }
}
