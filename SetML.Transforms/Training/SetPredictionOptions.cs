using SetML.Losses;
using SetML.Models;

namespace SetML.Training;

/// <summary>Options of the set-prediction trainers (<c>mlContext.SetPrediction().Trainers.Dspn(...)</c> and friends).</summary>
public class SetPredictionOptions : SetTrainingOptions
{
    /// <summary>The decoder. Default: null = the decoder the catalog method names, with its defaults.</summary>
    public SetDecoderOptions? Decoder { get; set; }
    /// <summary>Input encoder F for a vector feature column. Default: null = an MLP (<see cref="MlpInputEncoderOptions"/>).</summary>
    public InputEncoderOptions? InputEncoder { get; set; }
    /// <summary>
    /// Set encoder when the feature column is a set (auto-encoding). Default: null = DSPN shares its g_enc (the paper's
    /// set auto-encoder); other decoders get a <see cref="RelaxedDeepSetsOptions"/> encoder.
    /// </summary>
    public SetEncoderOptions? SetEncoder { get; set; }
    /// <summary>N, the largest set the model can predict; 0 = the largest label set in the training data. Default: 0.</summary>
    public int MaximumSetSize { get; set; }
    /// <summary>The set loss; null = Hungarian when N ≤ 32, else Chamfer (Hungarian is exact but O(N³)). Default: null.</summary>
    public SetLossKind? Loss { get; set; }
    /// <summary>Pairwise cost inside the set loss. Default: squared error.</summary>
    public PairwiseCost PairwiseCost { get; set; } = PairwiseCost.SquaredError;
    /// <summary>Accept empty label sets. Default: true.</summary>
    public bool AllowEmptySets { get; set; } = true;
    /// <summary>
    /// Train on standardized label sets: each element feature minus its mean, divided by its standard deviation over all
    /// elements of the training label sets (stored in the model as
    /// <see cref="SetPredictionModelSpec.LabelNormalization"/>); predictions are mapped back to the label's units. The set
    /// loss adds the elements' costs to the presence cost c(1 − p), so without it the units of the labels decide how much
    /// the position of an element counts against its presence: box corners in [0, 1] (spread 0.25) weigh 16× less than
    /// in standardized units, and training spends itself on the presence (measured on the <c>boxes</c> sample: AP50 12.7 →
    /// 47.3 for the MLP decoder at the same budget, docs/results.md). Not applied to set auto-encoders (the feature
    /// column is the label column), whose encoder reads the label sets themselves. Default: true.
    /// </summary>
    public bool NormalizeLabelSets { get; set; } = true;

    /// <summary>The set loss used for a model of <paramref name="slots"/> slots.</summary>
    public SetLossKind ResolveLoss(int slots) => Loss ?? (slots <= 32 ? SetLossKind.Hungarian : SetLossKind.Chamfer);

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (MaximumSetSize < 0) throw new ArgumentOutOfRangeException(nameof(MaximumSetSize), MaximumSetSize, "MaximumSetSize must be ≥ 0 (0 = from the data).");
        Decoder?.Validate();
    }
}

/// <summary>
/// Options of an unsupervised set featurizer: when <c>SetFeaturizerEstimator</c> gets no label column, it trains its
/// encoder as the encoder of a set auto-encoder with this decoder, and keeps the encoder.
/// </summary>
public class SetAutoEncoderFeaturizerOptions : SetFeaturizerOptions
{
    /// <summary>The auto-encoder's decoder. Default: null = DSPN with its defaults (λ·L_repr ties its g_enc to the featurizer).</summary>
    public SetDecoderOptions? Decoder { get; set; }
    /// <summary>The reconstruction loss; null = Hungarian for sets of ≤ 32 elements, else Chamfer. Default: null.</summary>
    public SetLossKind? Loss { get; set; }
}
