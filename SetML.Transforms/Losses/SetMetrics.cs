namespace SetML.Losses;

/// <summary>How two set elements are compared by <see cref="SetMetrics.AveragePrecision"/>.</summary>
public enum ElementMatch
{
    /// <summary>Axis-aligned boxes (x1, y1, x2, y2) in the first four features; correct when IoU ≥ threshold (DSPN Table 1).</summary>
    BoxIoU,
    /// <summary>Points; correct when the Euclidean distance ≤ threshold (DSPN Table 2 uses it on the 3-d position).</summary>
    Distance,
}

/// <summary>
/// Set-prediction metrics on plain arrays (one flat n·d array per set), independent of ML.NET and TorchSharp:
/// Chamfer distance, Hungarian matched error, set-size accuracy and the object-detection average precision of the
/// DSPN paper's Tables 1–2.
/// </summary>
public static class SetMetrics
{
    /// <summary>
    /// Chamfer distance with squared Euclidean distances: <c>mean_p min_t ||p − t||² + mean_t min_p ||p − t||²</c>.
    /// 0 when both sets are empty; null when exactly one is empty (undefined; counted by the size metrics instead).
    /// </summary>
    public static double? Chamfer(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, int d)
    {
        int n = prediction.Length / d, m = target.Length / d;
        if (n == 0 && m == 0) return 0;
        if (n == 0 || m == 0) return null;
        var minT = new double[m];
        Array.Fill(minT, double.PositiveInfinity);
        double a = 0;
        for (int i = 0; i < n; i++)
        {
            double best = double.PositiveInfinity;
            for (int j = 0; j < m; j++)
            {
                double s = SquaredDistance(prediction.Slice(i * d, d), target.Slice(j * d, d));
                if (s < best) best = s;
                if (s < minT[j]) minT[j] = s;
            }
            a += best;
        }
        return a / n + minT.Average();
    }

    /// <summary>
    /// Hungarian matched error: the optimal one-to-one matching of min(n, m) pairs under squared Euclidean distance;
    /// returns the sum of matched squared distances and the number of matched pairs (unmatched elements show up in
    /// the set-size metrics).
    /// </summary>
    public static (double Sum, int Pairs) MatchedSquaredError(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, int d)
    {
        int n = prediction.Length / d, m = target.Length / d;
        if (n == 0 || m == 0) return (0, 0);
        var c = new double[n * m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) c[i * m + j] = SquaredDistance(prediction.Slice(i * d, d), target.Slice(j * d, d));
        var a = LinearAssignment.Solve(c, n, m);
        return (LinearAssignment.TotalCost(c, m, a), Math.Min(n, m));
    }

    /// <summary>
    /// Average precision at one threshold, as in object detection and DSPN's Tables 1–2: all predicted elements of all
    /// sets are ranked by confidence; each, in turn, is matched to the most similar target element of its own set and
    /// is a true positive when that similarity passes the threshold and the target was not matched before. AP is the
    /// area under the precision–recall curve with precision made monotone (the all-points interpolation of VOC).
    /// </summary>
    /// <param name="predictions">Predicted sets (flat n·d).</param>
    /// <param name="confidences">Confidence of each predicted element (e.g. the presence); null = all 1 (ties keep set order).</param>
    /// <param name="targets">Target sets (flat m·d).</param>
    /// <param name="d">Element dimension.</param>
    /// <param name="match">How elements are compared.</param>
    /// <param name="threshold">IoU lower bound (<see cref="ElementMatch.BoxIoU"/>) or distance upper bound (<see cref="ElementMatch.Distance"/>).</param>
    /// <param name="distanceFeatures">For <see cref="ElementMatch.Distance"/>: how many leading features form the position (0 = all).</param>
    public static double AveragePrecision(IReadOnlyList<float[]> predictions, IReadOnlyList<float[]>? confidences,
        IReadOnlyList<float[]> targets, int d, ElementMatch match, double threshold, int distanceFeatures = 0)
    {
        if (predictions.Count != targets.Count) throw new ArgumentException("One predicted set per target set is needed.", nameof(predictions));
        if (match == ElementMatch.BoxIoU && d < 4) throw new ArgumentException($"Box IoU needs elements of at least 4 features, got {d}.", nameof(d));
        int totalTargets = targets.Sum(t => t.Length / d);
        if (totalTargets == 0) return 0;
        var ranked = new List<(float Conf, int Set, int Elem)>();
        for (int s = 0; s < predictions.Count; s++)
            for (int i = 0; i < predictions[s].Length / d; i++)
                ranked.Add((confidences?[s][i] ?? 1f, s, i));
        // Stable sort by descending confidence.
        var order = ranked.Select((r, k) => (r, k)).OrderByDescending(x => x.r.Conf).ThenBy(x => x.k).Select(x => x.r).ToList();
        var taken = targets.Select(t => new bool[t.Length / d]).ToArray();
        var tp = new bool[order.Count];
        int df = distanceFeatures > 0 ? Math.Min(distanceFeatures, d) : d;
        for (int k = 0; k < order.Count; k++)
        {
            var (_, s, i) = order[k];
            var p = predictions[s].AsSpan(i * d, d);
            int best = -1; double bestScore = match == ElementMatch.BoxIoU ? double.NegativeInfinity : double.PositiveInfinity;
            for (int j = 0; j < targets[s].Length / d; j++)
            {
                var t = targets[s].AsSpan(j * d, d);
                double score = match == ElementMatch.BoxIoU ? IoU(p, t) : Math.Sqrt(SquaredDistance(p[..df], t[..df]));
                bool better = match == ElementMatch.BoxIoU ? score > bestScore : score < bestScore;
                if (better) { bestScore = score; best = j; }
            }
            bool pass = best >= 0 && (match == ElementMatch.BoxIoU ? bestScore >= threshold : bestScore <= threshold);
            if (pass && !taken[s][best]) { taken[s][best] = true; tp[k] = true; }
        }
        // Precision/recall curve, monotone precision envelope, area by recall steps.
        var precision = new double[order.Count];
        var recall = new double[order.Count];
        int cum = 0;
        for (int k = 0; k < order.Count; k++)
        {
            if (tp[k]) cum++;
            precision[k] = cum / (double)(k + 1);
            recall[k] = cum / (double)totalTargets;
        }
        for (int k = order.Count - 2; k >= 0; k--) precision[k] = Math.Max(precision[k], precision[k + 1]);
        double ap = 0, prevRecall = 0;
        for (int k = 0; k < order.Count; k++)
        {
            ap += (recall[k] - prevRecall) * precision[k];
            prevRecall = recall[k];
        }
        return ap;
    }

    /// <summary>Intersection over union of two boxes (x1, y1, x2, y2); 0 for degenerate boxes.</summary>
    public static double IoU(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double ax1 = Math.Min(a[0], a[2]), ax2 = Math.Max(a[0], a[2]), ay1 = Math.Min(a[1], a[3]), ay2 = Math.Max(a[1], a[3]);
        double bx1 = Math.Min(b[0], b[2]), bx2 = Math.Max(b[0], b[2]), by1 = Math.Min(b[1], b[3]), by2 = Math.Max(b[1], b[3]);
        double iw = Math.Max(0, Math.Min(ax2, bx2) - Math.Max(ax1, bx1)), ih = Math.Max(0, Math.Min(ay2, by2) - Math.Max(ay1, by1));
        double inter = iw * ih, union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
        return union > 0 ? inter / union : 0;
    }

    /// <summary>Squared Euclidean distance of two equally long spans.</summary>
    public static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int k = 0; k < a.Length; k++) { double x = a[k] - b[k]; s += x * x; }
        return s;
    }
}
