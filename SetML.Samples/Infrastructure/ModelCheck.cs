using Microsoft.ML;
using Microsoft.ML.Data;

namespace SetML.Samples.Infrastructure;

/// <summary>Saves a trained model as an ML.NET .zip, loads it back and checks that it predicts exactly what the original predicts.</summary>
public static class ModelCheck
{
    /// <summary>
    /// <c>mlContext.Model.Save</c> to <paramref name="path"/>, <c>mlContext.Model.Load</c>, then compares
    /// <paramref name="column"/> of both models' predictions on <paramref name="data"/>. Returns the largest absolute
    /// difference (0 when the reloaded model is identical) and the reloaded model.
    /// </summary>
    public static (double MaxDifference, ITransformer Reloaded) SaveReload(MLContext ml, ITransformer model, DataViewSchema inputSchema,
        IDataView data, string column, string path)
    {
        ml.Model.Save(model, inputSchema, path);
        var reloaded = ml.Model.Load(path, out _);
        double diff = MaxDifference(model.Transform(data), reloaded.Transform(data), column);
        return (diff, reloaded);
    }

    /// <summary>Largest absolute difference between column <paramref name="column"/> of two views (Single, vector of Single, key, Boolean).</summary>
    public static double MaxDifference(IDataView a, IDataView b, string column)
    {
        var type = a.Schema[column].Type;
        if (type is VectorDataViewType)
        {
            var x = a.GetColumn<VBuffer<float>>(column).Select(v => v.DenseValues().ToArray()).ToList();
            var y = b.GetColumn<VBuffer<float>>(column).Select(v => v.DenseValues().ToArray()).ToList();
            return Compare(x, y, (p, q) => p.Length != q.Length ? double.PositiveInfinity : p.Zip(q, (s, t) => (double)Math.Abs(s - t)).DefaultIfEmpty(0).Max());
        }
        if (type is KeyDataViewType)
            return Compare(a.GetColumn<uint>(column).ToList(), b.GetColumn<uint>(column).ToList(), (p, q) => p == q ? 0 : 1);
        if (type is BooleanDataViewType)
            return Compare(a.GetColumn<bool>(column).ToList(), b.GetColumn<bool>(column).ToList(), (p, q) => p == q ? 0 : 1);
        return Compare(a.GetColumn<float>(column).ToList(), b.GetColumn<float>(column).ToList(), (p, q) => Math.Abs(p - q));
    }

    private static double Compare<T>(List<T> x, List<T> y, Func<T, T, double> diff)
    {
        if (x.Count != y.Count) return double.PositiveInfinity;
        double max = 0;
        for (int i = 0; i < x.Count; i++) max = Math.Max(max, diff(x[i], y[i]));
        return max;
    }
}
