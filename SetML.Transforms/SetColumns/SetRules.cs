namespace SetML.SetColumns;

/// <summary>Row-level rules applied to the values of a set column (see <see cref="SetColumn"/>).</summary>
public sealed class SetRules
{
    /// <summary>Whether a set with zero elements is accepted. Default: true (encoders return a finite embedding for it).</summary>
    public bool AllowEmpty { get; set; } = true;

    /// <summary>
    /// The largest accepted number of elements per set; 0 means no limit (the memory budget still applies). Default: 0.
    /// Set from the <c>MaximumSetSize</c> option of the trainer or featurizer, stored in the trained model and checked at
    /// <c>Fit</c> and at every prediction.
    /// </summary>
    public int MaximumSetSize { get; set; }

    /// <summary>
    /// Checks one row's set and returns its number of elements.
    /// </summary>
    /// <exception cref="SetColumnException">A rule is violated; the message names column, row and rule.</exception>
    public int Check(string columnName, long row, ReadOnlySpan<float> values, int elementDimension)
    {
        if (values.Length % elementDimension != 0)
            throw new SetColumnException(columnName, row, SetRule.LengthMultipleOfDimension,
                $"the set has {values.Length} values, which is not a multiple of the element dimension {elementDimension}");
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                throw new SetColumnException(columnName, row, SetRule.FiniteValues,
                    $"element {i / elementDimension}, feature {i % elementDimension} is {values[i]}; set values must be finite");
        }
        int n = values.Length / elementDimension;
        if (n == 0 && !AllowEmpty)
            throw new SetColumnException(columnName, row, SetRule.NonEmpty, "the set is empty, but this component needs at least one element");
        if (MaximumSetSize > 0 && n > MaximumSetSize)
            throw new SetColumnException(columnName, row, SetRule.MaximumSize,
                $"the set has {n} elements, more than the maximum set size of {MaximumSetSize} this component accepts; " +
                "raise MaximumSetSize in the trainer's or featurizer's options (0 = no limit) and fit again, or split the set");
        return n;
    }

    /// <summary>A copy of these rules.</summary>
    public SetRules Clone() => new() { AllowEmpty = AllowEmpty, MaximumSetSize = MaximumSetSize };
}
