using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.SetColumns;

namespace SetML.Transforms;

/// <summary>Materializes training data (only <c>Fit</c> reads whole data views) with row-level validation.</summary>
internal static class SetDataReader
{
    /// <summary>Reads a model input column, validating each row against the input's rules.</summary>
    public static List<float[]> ReadInput(IDataView data, ModelInput input)
    {
        var col = data.Schema[input.ColumnName];
        var result = new List<float[]>();
        using var cursor = data.GetRowCursor(new[] { col });
        var getter = cursor.GetGetter<VBuffer<float>>(col);
        VBuffer<float> buf = default;
        while (cursor.MoveNext())
        {
            getter(ref buf);
            var a = new float[buf.Length];
            buf.CopyTo(a);
            if (input.Kind == ModelInputKind.Set) input.Rules.Check(input.ColumnName, cursor.Position, a, input.ElementDimension);
            else SetModelTransformer.CheckVector(input, a, cursor.Position);
            result.Add(a);
        }
        return result;
    }

    /// <summary>Reads a Single (or Double, Int32) label column; labels must be finite.</summary>
    public static float[] ReadSingle(IDataView data, string column)
    {
        var col = data.Schema.GetColumnOrNull(column)
            ?? throw new SetColumnException(column, null, SetRule.ColumnExists, "the label column was not found in the input schema");
        var result = new List<float>();
        using var cursor = data.GetRowCursor(new[] { col });
        Func<float> read = col.Type switch
        {
            var t when t == NumberDataViewType.Single => Getter<float>(cursor, col, v => v),
            var t when t == NumberDataViewType.Double => Getter<double>(cursor, col, v => (float)v),
            var t when t == NumberDataViewType.Int32 => Getter<int>(cursor, col, v => v),
            _ => throw new SetColumnException(column, null, SetRule.ColumnType, $"a numeric label must be Single, Double or Int32, but the column has type {col.Type}"),
        };
        while (cursor.MoveNext())
        {
            float v = read();
            if (!float.IsFinite(v)) throw new SetColumnException(column, cursor.Position, SetRule.LabelValue, $"the label is {v}; labels must be finite");
            result.Add(v);
        }
        return result.ToArray();
    }

    /// <summary>Reads a Boolean label column.</summary>
    public static bool[] ReadBoolean(IDataView data, string column)
    {
        var col = data.Schema.GetColumnOrNull(column)
            ?? throw new SetColumnException(column, null, SetRule.ColumnExists, "the label column was not found in the input schema");
        if (col.Type != BooleanDataViewType.Instance)
            throw new SetColumnException(column, null, SetRule.ColumnType, $"a binary label must be Boolean, but the column has type {col.Type}");
        var result = new List<bool>();
        using var cursor = data.GetRowCursor(new[] { col });
        var g = cursor.GetGetter<bool>(col);
        bool b = false;
        while (cursor.MoveNext()) { g(ref b); result.Add(b); }
        return result.ToArray();
    }

    /// <summary>Reads a key label column: zero-based class indices, the class count and the key values (if annotated).</summary>
    public static (int[] Classes, int Count, string[]? Names) ReadKey(IDataView data, string column)
    {
        var col = data.Schema.GetColumnOrNull(column)
            ?? throw new SetColumnException(column, null, SetRule.ColumnExists, "the label column was not found in the input schema");
        if (col.Type is not KeyDataViewType kt || kt.RawType != typeof(uint) || kt.Count == 0 || kt.Count > int.MaxValue)
            throw new SetColumnException(column, null, SetRule.ColumnType,
                $"a multiclass label must be a key of UInt32 with a known count (use MapValueToKey), but the column has type {col.Type}");
        int count = (int)kt.Count;
        string[]? names = null;
        if (col.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues) != null)
        {
            VBuffer<ReadOnlyMemory<char>> kv = default;
            col.GetKeyValues(ref kv);
            names = kv.DenseValues().Select(m => m.ToString()).ToArray();
        }
        var result = new List<int>();
        using var cursor = data.GetRowCursor(new[] { col });
        var g = cursor.GetGetter<uint>(col);
        uint k = 0;
        while (cursor.MoveNext())
        {
            g(ref k);
            if (k == 0 || k > count) throw new SetColumnException(column, cursor.Position, SetRule.LabelValue, $"the key value {k} is missing or out of range 1..{count}");
            result.Add((int)k - 1);
        }
        return (result.ToArray(), count, names);
    }

    private static Func<float> Getter<T>(DataViewRowCursor c, DataViewSchema.Column col, Func<T, float> conv)
    {
        var g = c.GetGetter<T>(col);
        return () => { T v = default!; g(ref v); return conv(v); };
    }
}
