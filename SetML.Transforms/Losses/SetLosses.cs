using SetML.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Losses;

/// <summary>The per-feature cost used to compare a predicted element with a target element.</summary>
public enum PairwiseCost
{
    /// <summary>Squared error: c(a, b) = Σ_k (a_k − b_k)².</summary>
    SquaredError,
    /// <summary>
    /// Huber (smooth L1, δ = 1): squared error (½x²) below 1 and absolute error (|x| − ½) above, summed over features.
    /// The DSPN paper's choice for boxes and states: training is less sensitive to the learning rate.
    /// </summary>
    Huber,
}

/// <summary>Which set loss L_set compares a predicted set with the target set.</summary>
public enum SetLossKind
{
    /// <summary>Chamfer loss: every element is compared with its nearest neighbour in the other set (O(n·m), any size).</summary>
    Chamfer,
    /// <summary>Hungarian loss: the cost of the optimal one-to-one matching (exact O(n³) assignment; best for small sets).</summary>
    Hungarian,
}

/// <summary>
/// Set losses between a predicted set with soft presence and a padded target set. Conventions shared by both losses:
/// <list type="bullet">
/// <item>prediction <c>y [B, N, d]</c> with presence <c>p [B, N]</c> in [0, 1] (the DSPN mask feature; null = all present);</item>
/// <item>target <c>t [B, M, d]</c> with a boolean mask <c>[B, M]</c>: padded target rows never change the loss;</item>
/// <item>the matching (nearest neighbours or the assignment) is found without autograd and the chosen pairs are then
/// re-evaluated with autograd: the same (sub)gradient as differentiating the min, without <c>[B, N, M]</c> backward buffers.</item>
/// </list>
/// Both return the mean over the batch.
/// </summary>
public static class SetLosses
{
    /// <summary>Elementwise cost of a difference (summed over the last axis by the callers).</summary>
    public static Tensor Elementwise(Tensor diff, PairwiseCost cost) => cost switch
    {
        PairwiseCost.SquaredError => diff.Squared(),
        PairwiseCost.Huber => nn.functional.huber_loss(diff, torch.zeros_like(diff), reduction: nn.Reduction.None, delta: 1.0),
        _ => throw new ArgumentOutOfRangeException(nameof(cost)),
    };

    /// <summary>c(a, b) summed over the last axis.</summary>
    public static Tensor Pair(Tensor a, Tensor b, PairwiseCost cost) => Elementwise(a - b, cost).sum(-1);

    /// <summary>
    /// Mask-aware Chamfer loss (the outer loss of DSPN's point-set experiments):
    /// <c>Σ_i p_i min_j c(y_i, t_j) / Σ_i p_i  +  mean_j min_i [c(y_i, t_j) + c(1 − p_i)]</c> over real targets j.
    /// The first term pulls every present prediction onto the target; the second needs every target to be covered by
    /// an element that is present. A row with an empty target costs mean_i c(p_i) (everything should be absent).
    /// </summary>
    public static Tensor Chamfer(Tensor prediction, Tensor? presence, Tensor target, Tensor targetMask, PairwiseCost cost = PairwiseCost.SquaredError)
    {
        using var scope = torch.NewDisposeScope();
        CheckShapes(prediction, presence, target, targetMask);
        var p = presence ?? torch.ones(prediction.shape[0], prediction.shape[1], dtype: prediction.dtype, device: prediction.device);
        var absentCost = Elementwise(p.RSubScalar(1), cost);                      // c(1 − p_i): cost of covering with element i
        var allAbsent = Elementwise(p, cost).mean(new long[] { 1 });    // loss of a row with no targets
        var tm = targetMask.to_type(prediction.dtype);
        var nTarget = tm.sum(1);
        if (target.shape[1] == 0) return allAbsent.mean().MoveToOuterDisposeScope();

        Tensor jOfI, iOfJ;
        using (torch.no_grad())
        {
            var d = PairwiseMatrix(prediction.detach(), target.detach(), cost);                   // [B, N, M]
            jOfI = d.MaskedFillScalar(targetMask.logical_not().unsqueeze(1), double.PositiveInfinity).argmin(2);
            iOfJ = d.Plus(absentCost.detach().unsqueeze(2)).argmin(1);
        }
        long dd = prediction.shape[2];
        var nearestTarget = target.gather(1, jOfI.unsqueeze(-1).expand(-1, -1, dd));
        var a = (p * Pair(prediction, nearestTarget, cost)).sum(1) / p.sum(1).ClampMinScalar(1e-6);
        var covering = prediction.gather(1, iOfJ.unsqueeze(-1).expand(-1, -1, dd));
        var b = (Pair(covering, target, cost).Plus(absentCost.gather(1, iOfJ)) * tm).sum(1) / nTarget.ClampMinScalar(1.0);
        var perSet = torch.where(nTarget.GtScalar(0), a.Plus(b), allAbsent);
        return perSet.mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Hungarian loss with presence: the N predictions are matched one-to-one to the real targets (N ≥ targets) by an
    /// exact assignment on <c>c(y_i, t_j) + c(1 − p_i) − c(p_i)</c>; the loss per set is
    /// <c>(Σ_matched [c(y_i, t_j) + c(1 − p_i)] + Σ_unmatched c(p_i)) / N</c>, which equals the paper's matching of N slots
    /// against the target padded to N with mask-feature 0 — except that a padded slot's coordinates cost nothing.
    /// </summary>
    /// <exception cref="ArgumentException">A target set has more elements than the N predicted slots, or a cost is NaN/Inf.</exception>
    public static Tensor Hungarian(Tensor prediction, Tensor? presence, Tensor target, Tensor targetMask, PairwiseCost cost = PairwiseCost.SquaredError)
    {
        using var scope = torch.NewDisposeScope();
        CheckShapes(prediction, presence, target, targetMask);
        var p = presence ?? torch.ones(prediction.shape[0], prediction.shape[1], dtype: prediction.dtype, device: prediction.device);
        var matchIndex = HungarianMatch(prediction, p, target, targetMask, cost);     // [B, N] target index or −1
        var matched = matchIndex.GeScalar(0);
        long dd = prediction.shape[2];
        var safe = matchIndex.ClampMinScalar(0L).to(prediction.device);
        var perSlot = target.shape[1] == 0
            ? Elementwise(p, cost)
            : torch.where(matched.to(prediction.device),
                Pair(prediction, target.gather(1, safe.unsqueeze(-1).expand(-1, -1, dd)), cost).Plus(Elementwise(p.RSubScalar(1), cost)),
                Elementwise(p, cost));
        return perSlot.mean(new long[] { 1 }).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The optimal matching used by <see cref="Hungarian"/>: <c>[B, N]</c> (int64, CPU) holding for each predicted slot
    /// the index of its target element, or −1 for slots matched to nothing (they should be absent).
    /// </summary>
    public static Tensor HungarianMatch(Tensor prediction, Tensor presence, Tensor target, Tensor targetMask, PairwiseCost cost)
    {
        using var scope = torch.NewDisposeScope();
        int batch = (int)prediction.shape[0], n = (int)prediction.shape[1], m = (int)target.shape[1];
        var result = new long[batch * n];
        Array.Fill(result, -1L);
        if (m > 0)
        {
            double[] d, absent, present; bool[] tmask;
            using (torch.no_grad())
            {
                var pd = presence.detach();
                d = PairwiseMatrix(prediction.detach(), target.detach(), cost).to(ScalarType.Float64).CopyToArray<double>();
                absent = Elementwise(pd.RSubScalar(1), cost).to(ScalarType.Float64).CopyToArray<double>();
                present = Elementwise(pd, cost).to(ScalarType.Float64).CopyToArray<double>();
                tmask = targetMask.CopyToArray<bool>();
            }
            var costs = new double[batch][];
            var cols = new int[batch][];
            for (int b = 0; b < batch; b++)
            {
                var real = Enumerable.Range(0, m).Where(j => tmask[b * m + j]).ToArray();
                if (real.Length > n)
                    throw new ArgumentException(
                        $"Row {b} of the mini-batch has a target set of {real.Length} elements, but the model predicts at most {n}. " +
                        "Raise the maximum set size of the set-prediction model.", nameof(target));
                var c = new double[n * real.Length];
                for (int i = 0; i < n; i++)
                    for (int k = 0; k < real.Length; k++)
                        c[i * real.Length + k] = d[((long)b * n + i) * m + real[k]] + absent[b * n + i] - present[b * n + i];
                costs[b] = c; cols[b] = real;
            }
            var assignment = LinearAssignment.SolveBatch(costs, Enumerable.Repeat(n, batch).ToArray(), cols.Select(c => c.Length).ToArray());
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < n; i++)
                    if (assignment[b][i] >= 0) result[b * n + i] = cols[b][assignment[b][i]];
        }
        return torch.tensor(result, new long[] { batch, n }).MoveToOuterDisposeScope();
    }

    /// <summary>Pairwise costs <c>[B, N, M]</c> between the elements of <paramref name="a"/> [B,N,d] and <paramref name="b"/> [B,M,d].</summary>
    public static Tensor PairwiseMatrix(Tensor a, Tensor b, PairwiseCost cost)
    {
        using var scope = torch.NewDisposeScope();
        Tensor d;
        if (cost == PairwiseCost.SquaredError)
        {
            // ||a||² + ||b||² − 2 a·b, one batched matrix product (clamped: rounding can make it slightly negative).
            d = (a.Squared().sum(-1).unsqueeze(2).Plus(b.Squared().sum(-1).unsqueeze(1)) - torch.bmm(a, b.transpose(1, 2)).MulScalar(2)).ClampMinScalar(0.0);
        }
        else d = Pair(a.unsqueeze(2), b.unsqueeze(1), cost);
        return d.MoveToOuterDisposeScope();
    }

    private static void CheckShapes(Tensor prediction, Tensor? presence, Tensor target, Tensor targetMask)
    {
        if (prediction.dim() != 3 || target.dim() != 3 || prediction.shape[0] != target.shape[0] || prediction.shape[2] != target.shape[2])
            throw new ArgumentException($"Set losses need prediction [B, N, d] and target [B, M, d]; got [{string.Join(", ", prediction.shape)}] and [{string.Join(", ", target.shape)}].");
        if (targetMask.dim() != 2 || targetMask.shape[0] != target.shape[0] || targetMask.shape[1] != target.shape[1])
            throw new ArgumentException($"The target mask must be [B, M] = [{target.shape[0]}, {target.shape[1]}].", nameof(targetMask));
        if (presence is not null && (presence.dim() != 2 || presence.shape[0] != prediction.shape[0] || presence.shape[1] != prediction.shape[1]))
            throw new ArgumentException($"The presence must be [B, N] = [{prediction.shape[0]}, {prediction.shape[1]}].", nameof(presence));
    }
}
