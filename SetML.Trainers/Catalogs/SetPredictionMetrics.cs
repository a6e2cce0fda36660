using SetML.Losses;

namespace SetML;

/// <summary>Metrics of set prediction (see <c>SetPredictionCatalog.Evaluate</c>).</summary>
public sealed class SetPredictionMetrics
{
    /// <summary>Rows evaluated.</summary>
    public int RowCount { get; init; }
    /// <summary>Mean Chamfer distance (squared Euclidean) over rows where both sets are non-empty (or both empty).</summary>
    public double Chamfer { get; init; }
    /// <summary>Mean squared distance of the optimally matched (Hungarian) element pairs.</summary>
    public double MatchedSquaredError { get; init; }
    /// <summary>Fraction of rows whose predicted set has exactly the true number of elements.</summary>
    public double SetSizeAccuracy { get; init; }
    /// <summary>Mean |predicted size − true size|.</summary>
    public double MeanAbsoluteSizeError { get; init; }
    /// <summary>Rows with an empty prediction but a non-empty target (Chamfer undefined there).</summary>
    public int EmptyPredictionRows { get; init; }
    /// <summary>Average precision per threshold (IoU lower bound or distance upper bound), in [0, 1].</summary>
    public IReadOnlyDictionary<double, double> AveragePrecision { get; init; } = new Dictionary<double, double>();

    /// <summary>Computes the metrics from plain arrays.</summary>
    public static SetPredictionMetrics Compute(IReadOnlyList<float[]> predictions, IReadOnlyList<float[]>? scores, IReadOnlyList<float[]> targets,
        int d, ElementMatch match, IReadOnlyList<double> thresholds, int distanceFeatures = 0)
    {
        double chamfer = 0, matched = 0; int chamferRows = 0, pairs = 0, sizeHits = 0, empty = 0; double sizeErr = 0;
        for (int r = 0; r < targets.Count; r++)
        {
            int n = predictions[r].Length / d, m = targets[r].Length / d;
            if (SetMetrics.Chamfer(predictions[r], targets[r], d) is double c) { chamfer += c; chamferRows++; }
            else if (n == 0) empty++;
            var (s, k) = SetMetrics.MatchedSquaredError(predictions[r], targets[r], d);
            matched += s; pairs += k;
            if (n == m) sizeHits++;
            sizeErr += Math.Abs(n - m);
        }
        var ap = thresholds.ToDictionary(t => t, t => SetMetrics.AveragePrecision(predictions, scores, targets, d, match, t, distanceFeatures));
        int rows = Math.Max(1, targets.Count);
        return new SetPredictionMetrics
        {
            RowCount = targets.Count,
            Chamfer = chamferRows > 0 ? chamfer / chamferRows : 0,
            MatchedSquaredError = pairs > 0 ? matched / pairs : 0,
            SetSizeAccuracy = sizeHits / (double)rows,
            MeanAbsoluteSizeError = sizeErr / rows,
            EmptyPredictionRows = empty,
            AveragePrecision = ap,
        };
    }
}
