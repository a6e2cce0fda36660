using SetML.Models;

namespace SetML.Training;

/// <summary>Options of a set → vector model: encoder choice, head, input rules, plus <see cref="SetTrainingOptions"/>.</summary>
public class SetModelOptions : SetTrainingOptions
{
    /// <summary>
    /// The set encoder (any encoder can back any task). Default: null = the encoder the catalog method names
    /// (<c>DeepSets(...)</c> → <see cref="DeepSetsOptions"/>, <c>SetTransformer(...)</c> → its options, …), with its defaults;
    /// the generic methods (<c>SetEncoder(...)</c>, <c>SetRegression(...)</c>, …) use <see cref="DeepSetsOptions"/>.
    /// </summary>
    public SetEncoderOptions? Encoder { get; set; }

    /// <summary>
    /// A copy of these options whose <see cref="Encoder"/> is set: <paramref name="defaultEncoder"/> when null. When
    /// <typeparamref name="TEncoder"/> is more specific than <see cref="SetEncoderOptions"/>, a different encoder type is an error.
    /// </summary>
    public T WithEncoder<T, TEncoder>(TEncoder defaultEncoder, string methodName) where T : SetModelOptions where TEncoder : SetEncoderOptions
    {
        var copy = (T)MemberwiseClone();
        if (Encoder == null) copy.Encoder = defaultEncoder;
        else if (Encoder is not TEncoder)
            throw new ArgumentException(
                $"{methodName}(...) trains a {typeof(TEncoder).Name.Replace("Options", "")} encoder, but options.Encoder is {Encoder.GetType().Name}. " +
                "Leave options.Encoder null, or use the generic method that takes any encoder.", "options");
        return copy;
    }
    /// <summary>Hidden widths of the MLP head after the encoder. Default: [64].</summary>
    public int[] HeadHiddenSizes { get; set; } = { 64 };
    /// <summary>Dropout in the head during training. Default: 0.</summary>
    public double Dropout { get; set; }
    /// <summary>Accept empty sets (they get a finite embedding). Default: true.</summary>
    public bool AllowEmptySets { get; set; } = true;
    /// <summary>Largest accepted set size; 0 = unlimited. Default: 0.</summary>
    public int MaximumSetSize { get; set; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Dropout < 0 || Dropout >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "Dropout must be in [0, 1).");
        if (MaximumSetSize < 0) throw new ArgumentOutOfRangeException(nameof(MaximumSetSize), MaximumSetSize, "MaximumSetSize must be ≥ 0.");
    }
}

/// <summary>Options of a supervised set featurizer (<c>mlContext.Transforms.DeepSets(...)</c> and friends).</summary>
public class SetFeaturizerOptions : SetModelOptions
{
    /// <summary>
    /// The task the encoder is trained on. Default: null = chosen from the label type (Single → regression,
    /// Boolean → binary, key → multiclass).
    /// </summary>
    public SetTask? Task { get; set; }
    /// <summary>Loss when the task is regression. Default: <see cref="Models.RegressionLoss.Squared"/>.</summary>
    public RegressionLoss RegressionLoss { get; set; } = RegressionLoss.Squared;
}

/// <summary>Options of the set regression trainer.</summary>
public class SetRegressionOptions : SetModelOptions
{
    /// <summary>
    /// The regression loss. Default: <see cref="Models.RegressionLoss.Squared"/>. Same name as
    /// <see cref="SetFeaturizerOptions.RegressionLoss"/> (one name per setting across SetML's options).
    /// </summary>
    public RegressionLoss RegressionLoss { get; set; } = RegressionLoss.Squared;
}
