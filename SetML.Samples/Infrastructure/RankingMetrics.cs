namespace SetML.Samples.Infrastructure;

/// <summary>Ranking metrics over pooled (score, is-positive) pairs, as in the Set Transformer paper's Table 4.</summary>
public static class RankingMetrics
{
    /// <summary>Area under the ROC curve (Mann–Whitney: probability a positive outranks a negative; ties count half).</summary>
    public static double Auroc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        var ranks = new double[scores.Count];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            for (int k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2.0 + 1;
            i = j + 1;
        }
        long nPos = positive.Count(p => p), nNeg = positive.Count - nPos;
        if (nPos == 0 || nNeg == 0) return double.NaN;
        double sumPos = Enumerable.Range(0, ranks.Length).Where(i => positive[i]).Sum(i => ranks[i]);
        return (sumPos - nPos * (nPos + 1) / 2.0) / (nPos * (double)nNeg);
    }

    /// <summary>Area under the precision–recall curve as average precision (mean precision at each positive, highest scores first).</summary>
    public static double Aupr(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        int nPos = positive.Count(p => p);
        if (nPos == 0) return double.NaN;
        double sum = 0; int hits = 0;
        for (int k = 0; k < order.Length; k++)
            if (positive[order[k]]) { hits++; sum += hits / (double)(k + 1); }
        return sum / nPos;
    }

    /// <summary>The ROC curve: (false-positive rate, true-positive rate) points from the highest threshold down.</summary>
    public static (double[] Fpr, double[] Tpr) RocCurve(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double nPos = positive.Count(p => p), nNeg = positive.Count - nPos;
        var fpr = new List<double> { 0 }; var tpr = new List<double> { 0 };
        double tp = 0, fp = 0;
        foreach (var i in order)
        {
            if (positive[i]) tp++; else fp++;
            fpr.Add(nNeg == 0 ? 0 : fp / nNeg);
            tpr.Add(nPos == 0 ? 0 : tp / nPos);
        }
        return (fpr.ToArray(), tpr.ToArray());
    }
}
