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
    /// <summary>
    /// Largest accepted number of elements per set, checked on every row at <c>Fit</c> and at prediction (it is stored
    /// in the model): a larger set raises a <c>SetColumnException</c> (rule <c>MaximumSize</c>) naming the column, the row,
    /// the size and this limit. 0 = no fixed limit; sets are still refused when the model's forward pass on them alone
    /// would exceed <see cref="SetTrainingOptions.MemoryBudgetBytes"/>. Default: 0.
    /// </summary>
    public int MaximumSetSize { get; set; }
    /// <summary>
    /// Train on sets larger than one forward/backward pass can hold (UMBC's unbiased full-set gradient, Willette et al.
    /// 2023): when &gt; 0, each training batch is encoded in chunks of this many elements, all without gradient, and the
    /// gradient is taken through one uniformly drawn chunk, scaled by the number of chunks, with the rest of the state
    /// held constant (<see cref="Modules.ChunkedSetGradient"/>). The loss value is exact and the gradient is an unbiased
    /// estimate of the full-set gradient; activation memory depends on the chunk size, not on the set size. Needs a
    /// mini-batch consistent encoder (Deep Sets, Slot Set Encoder). Prediction is unchanged (use a small
    /// <see cref="SetTrainingOptions.PredictionBatchSize"/> or a streaming encoder for huge sets). Default: 0 (off: the
    /// gradient of the whole set).
    /// </summary>
    public int GradientChunkSize { get; set; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Dropout < 0 || Dropout >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "Dropout must be in [0, 1).");
        if (MaximumSetSize < 0) throw new ArgumentOutOfRangeException(nameof(MaximumSetSize), MaximumSetSize, "MaximumSetSize must be ≥ 0.");
        if (GradientChunkSize < 0) throw new ArgumentOutOfRangeException(nameof(GradientChunkSize), GradientChunkSize, "GradientChunkSize must be ≥ 0 (0 = off).");
        if (GradientChunkSize > 0 && Encoder is { IsMiniBatchConsistent: false })
            throw new ArgumentException(
                $"GradientChunkSize = {GradientChunkSize} needs a mini-batch consistent encoder (DeepSets or SlotSetEncoder), but options.Encoder is " +
                $"{Encoder.GetType().Name}, whose output depends on all elements at once, so a set cannot be encoded chunk by chunk.", nameof(GradientChunkSize));
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
