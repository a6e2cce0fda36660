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

    /// <summary>
    /// Reads a numeric label column (Single, Double, or any integer type) as Single. A missing label (NaN) is returned as
    /// NaN, for the caller to skip; an infinite label is an error.
    /// </summary>
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
            var t when t == NumberDataViewType.UInt32 => Getter<uint>(cursor, col, v => v),
            var t when t == NumberDataViewType.Int64 => Getter<long>(cursor, col, v => v),
            var t when t == NumberDataViewType.UInt64 => Getter<ulong>(cursor, col, v => v),
            var t when t == NumberDataViewType.Int16 => Getter<short>(cursor, col, v => v),
            var t when t == NumberDataViewType.UInt16 => Getter<ushort>(cursor, col, v => v),
            var t when t == NumberDataViewType.Byte => Getter<byte>(cursor, col, v => v),
            var t when t == NumberDataViewType.SByte => Getter<sbyte>(cursor, col, v => v),
            _ => throw new SetColumnException(column, null, SetRule.ColumnType, $"a numeric label must be Single, Double or an integer type, but the column has type {col.Type}"),
        };
        while (cursor.MoveNext())
        {
            float v = read();
            if (float.IsInfinity(v)) throw new SetColumnException(column, cursor.Position, SetRule.LabelValue, $"the label is {v}; labels must be finite (NaN marks a missing label)");
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

    /// <summary>A key label column read by <see cref="ReadKey"/>.</summary>
    /// <param name="Classes">Zero-based class per row; −1 where the label is missing (key 0).</param>
    /// <param name="Count">Number of classes (the key count).</param>
    /// <param name="Names">The key values as text (invariant culture, round-trip for floating point), when the key has them.</param>
    /// <param name="ValueType">The .NET type name of the key values (e.g. <c>Single</c>, <c>String</c>), null without key values.</param>
    public sealed record KeyLabels(int[] Classes, int Count, string[]? Names, string? ValueType);

    /// <summary>
    /// Reads a key label column of any key type (Byte, UInt16, UInt32, UInt64), with key values of any type (Single, Double,
    /// Int32, String, …) or none: zero-based classes (−1 for the missing key 0), the class count and the key values.
    /// </summary>
    public static KeyLabels ReadKey(IDataView data, string column)
    {
        var col = data.Schema.GetColumnOrNull(column)
            ?? throw new SetColumnException(column, null, SetRule.ColumnExists, "the label column was not found in the input schema");
        if (col.Type is not KeyDataViewType kt || kt.Count == 0 || kt.Count > int.MaxValue)
            throw new SetColumnException(column, null, SetRule.ColumnType,
                $"a multiclass label must be a key with a known count (use MapValueToKey), but the column has type {col.Type}");
        int count = (int)kt.Count;
        var (names, valueType) = KeyValueStrings(col);
        var result = new List<int>();
        using var cursor = data.GetRowCursor(new[] { col });
        Func<ulong> read = kt.RawType switch
        {
            var t when t == typeof(uint) => KeyGetter<uint>(cursor, col, v => v),
            var t when t == typeof(byte) => KeyGetter<byte>(cursor, col, v => v),
            var t when t == typeof(ushort) => KeyGetter<ushort>(cursor, col, v => v),
            var t when t == typeof(ulong) => KeyGetter<ulong>(cursor, col, v => v),
            _ => throw new SetColumnException(column, null, SetRule.ColumnType, $"unsupported key type {col.Type}"),
        };
        while (cursor.MoveNext())
        {
            ulong k = read();
            if (k > (ulong)count) throw new SetColumnException(column, cursor.Position, SetRule.LabelValue, $"the key value {k} is out of range 1..{count}");
            result.Add((int)k - 1); // key 0 (missing) → −1
        }
        return new KeyLabels(result.ToArray(), count, names, valueType);
    }

    /// <summary>The KeyValues annotation of a key column as text, and the .NET type name of its values; (null, null) without one.</summary>
    internal static (string[]? Names, string? ValueType) KeyValueStrings(DataViewSchema.Column col)
    {
        var kvCol = col.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues);
        if (kvCol is not { Type: VectorDataViewType { ItemType: PrimitiveDataViewType item } }) return (null, null);
        var method = typeof(SetDataReader).GetMethod(nameof(KeyValueStringsOf), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(item.RawType);
        var names = (string[])method.Invoke(null, new object[] { col })!;
        return (names, item.RawType == typeof(ReadOnlyMemory<char>) ? nameof(String) : item.RawType.Name);
    }

    private static string[] KeyValueStringsOf<T>(DataViewSchema.Column col)
    {
        VBuffer<T> kv = default;
        col.Annotations.GetValue(AnnotationUtils.Kinds.KeyValues, ref kv);
        return kv.DenseValues().Select(v => v switch
        {
            ReadOnlyMemory<char> m => m.ToString(),
            float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => v?.ToString() ?? "",
        }).ToArray();
    }

    private static Func<ulong> KeyGetter<T>(DataViewRowCursor c, DataViewSchema.Column col, Func<T, ulong> conv)
    {
        var g = c.GetGetter<T>(col);
        return () => { T v = default!; g(ref v); return conv(v); };
    }

    private static Func<float> Getter<T>(DataViewRowCursor c, DataViewSchema.Column col, Func<T, float> conv)
    {
        var g = c.GetGetter<T>(col);
        return () => { T v = default!; g(ref v); return conv(v); };
    }
}
