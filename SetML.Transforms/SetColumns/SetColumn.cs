using SetML.Persistence;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace SetML.SetColumns;

/// <summary>
/// The set-column contract. A set of n elements of dimension d is stored row-wise in a <see cref="VBuffer{T}"/>
/// of <see cref="float"/> of length n·d: element i occupies slots [i·d, (i+1)·d). The column is a variable-size
/// vector (or a fixed-size vector whose size is a multiple of d). The element dimension d is declared by the user and
/// SetML writes it as the <see cref="ElementDimensionAnnotation"/> annotation on every set-valued column it produces.
/// </summary>
public static class SetColumn
{
    /// <summary>Name of the annotation (type <see cref="int"/>) carrying the element dimension of a set column.</summary>
    public const string ElementDimensionAnnotation = "SetElementDimension";

    /// <summary>Reads the element dimension annotation of <paramref name="column"/>, or null when absent.</summary>
    public static int? GetElementDimension(DataViewSchema.Column column)
    {
        var a = column.Annotations.Schema.GetColumnOrNull(ElementDimensionAnnotation);
        if (a == null || a.Value.Type != NumberDataViewType.Int32) return null;
        int d = 0;
        column.Annotations.GetValue(ElementDimensionAnnotation, ref d);
        return d;
    }

    /// <summary>Builds the annotations of a set-valued column with element dimension <paramref name="elementDimension"/>.</summary>
    public static DataViewSchema.Annotations Annotations(int elementDimension)
    {
        var b = new DataViewSchema.Annotations.Builder();
        AddElementDimension(b, elementDimension);
        return b.ToAnnotations();
    }

    /// <summary>Adds the element dimension annotation to an annotation builder.</summary>
    public static void AddElementDimension(DataViewSchema.Annotations.Builder builder, int elementDimension)
        => builder.Add(ElementDimensionAnnotation, NumberDataViewType.Int32, (ref int v) => v = elementDimension);

    /// <summary>
    /// Validates at schema time (Fit / GetOutputSchema) that <paramref name="columnName"/> exists in
    /// <paramref name="schema"/> and can hold sets of dimension <paramref name="elementDimension"/>.
    /// </summary>
    /// <exception cref="SetColumnException">The column is missing, not a vector of Single, d ≤ 0, a fixed size
    /// that is not a multiple of d, or an element-dimension annotation that disagrees with d.</exception>
    public static void ValidateSchema(DataViewSchema schema, string columnName, int elementDimension)
    {
        if (elementDimension <= 0)
            throw new SetColumnException(columnName, null, SetRule.ElementDimensionPositive,
                $"the element dimension must be positive, but {elementDimension} was given");
        var col = schema.GetColumnOrNull(columnName)
            ?? throw new SetColumnException(columnName, null, SetRule.ColumnExists, "the column was not found in the input schema");
        ValidateType(columnName, col.Type, elementDimension);
        var annotated = GetElementDimension(col);
        if (annotated.HasValue && annotated.Value != elementDimension)
            throw new SetColumnException(columnName, null, SetRule.ElementDimensionMatchesAnnotation,
                $"the column is annotated with {ElementDimensionAnnotation} = {annotated.Value}, but element dimension {elementDimension} was declared");
    }

    /// <summary>Schema-shape variant of <see cref="ValidateSchema"/> used by estimators' GetOutputSchema.</summary>
    public static void ValidateSchemaShape(SchemaShape shape, string columnName, int elementDimension)
    {
        if (elementDimension <= 0)
            throw new SetColumnException(columnName, null, SetRule.ElementDimensionPositive,
                $"the element dimension must be positive, but {elementDimension} was given");
        if (!SchemaShapes.TryFindColumn(shape, columnName, out var col))
            throw new SetColumnException(columnName, null, SetRule.ColumnExists, "the column was not found in the input schema");
        if (col.Kind == SchemaShape.Column.VectorKind.Scalar || col.ItemType != NumberDataViewType.Single)
            throw new SetColumnException(columnName, null, SetRule.ColumnType,
                $"a set column must be a vector of Single (VBuffer<float> of length n·d), but the column is {(col.Kind == SchemaShape.Column.VectorKind.Scalar ? "a scalar" : "a vector")} of {col.ItemType}");
    }

    internal static void ValidateType(string columnName, DataViewType type, int elementDimension)
    {
        if (type is not VectorDataViewType vt || vt.ItemType != NumberDataViewType.Single)
            throw new SetColumnException(columnName, null, SetRule.ColumnType,
                $"a set column must be a vector of Single (VBuffer<float> of length n·d), but the column has type {type}");
        if (vt.IsKnownSize && vt.Size % elementDimension != 0)
            throw new SetColumnException(columnName, null, SetRule.LengthMultipleOfDimension,
                $"the fixed vector size {vt.Size} is not a multiple of the element dimension {elementDimension}");
    }
}

/// <summary>The rules a set column is checked against. Each <see cref="SetColumnException"/> names one.</summary>
public enum SetRule
{
    /// <summary>The column must exist in the schema.</summary>
    ColumnExists,
    /// <summary>The column must be a vector of Single.</summary>
    ColumnType,
    /// <summary>The declared element dimension d must be positive.</summary>
    ElementDimensionPositive,
    /// <summary>The declared element dimension must agree with the column's SetElementDimension annotation.</summary>
    ElementDimensionMatchesAnnotation,
    /// <summary>The number of values in a row must be a multiple of d.</summary>
    LengthMultipleOfDimension,
    /// <summary>Every value must be finite (no NaN, no ±Infinity).</summary>
    FiniteValues,
    /// <summary>A set must have at least one element where the component needs it.</summary>
    NonEmpty,
    /// <summary>A set may not have more elements than the configured maximum.</summary>
    MaximumSize,
    /// <summary>A label or auxiliary column value is invalid (e.g. NaN label, missing key).</summary>
    LabelValue,
    /// <summary>
    /// The model's forward pass on this set alone would need more memory than the memory budget
    /// (<c>MemoryBudgetBytes</c>; see <see cref="Training.MemoryBudget"/>). Checked before any tensor is allocated.
    /// </summary>
    MemoryBudget,
}

/// <summary>
/// A set column violates a rule. The message always names the column, the row (when the failure is in a row) and the rule.
/// </summary>
public sealed class SetColumnException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public SetColumnException(string columnName, long? row, SetRule rule, string detail)
        : base(row.HasValue
            ? $"Set column '{columnName}', row {row.Value}: {detail} (rule: {rule})."
            : $"Set column '{columnName}': {detail} (rule: {rule}).")
    {
        ColumnName = columnName;
        Row = row;
        Rule = rule;
    }

    /// <summary>The offending column.</summary>
    public string ColumnName { get; }
    /// <summary>The zero-based row index within the data view being read, or null for a schema-level failure.</summary>
    public long? Row { get; }
    /// <summary>The rule that was violated.</summary>
    public SetRule Rule { get; }
}
