using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Trainers;

/// <summary>
/// Base of the set-prediction trainers: learns to predict the set column <c>Label</c> (n·d Singles per row) from a
/// feature vector (MLP or CNN input encoder) or from a set (auto-encoding). The fitted <see cref="SetModelTransformer"/>
/// adds <c>PredictedSet</c> (a set column, padding removed), <c>PredictedSetSize</c> and <c>PredictedSetScore</c>
/// (presence of each predicted element, its confidence). A new decoder is one subclass naming its default options.
/// </summary>
public abstract class SetPredictionTrainerBase : IEstimator<SetModelTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly string _label, _features;
    private readonly int _d;
    private readonly SetPredictionOptions _options;

    private protected SetPredictionTrainerBase(IHostEnvironment env, string labelColumnName, string featureColumnName, int elementDimension, SetPredictionOptions options)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _label = labelColumnName ?? throw new ArgumentNullException(nameof(labelColumnName));
        _features = featureColumnName ?? throw new ArgumentNullException(nameof(featureColumnName));
        if (elementDimension <= 0)
            throw new SetColumnException(labelColumnName, null, SetRule.ElementDimensionPositive, $"the element dimension must be positive, but {elementDimension} was given");
        _d = elementDimension;
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <summary>The decoder used when <see cref="SetPredictionOptions.Decoder"/> is null.</summary>
    private protected abstract SetDecoderOptions DefaultDecoder { get; }

    /// <summary>Optional validation data (otherwise <see cref="SetTrainingOptions.ValidationFraction"/> applies).</summary>
    public IDataView? ValidationData { get; init; }

    /// <summary>Trains the model.</summary>
    public SetModelTransformer Fit(IDataView input)
        => Trainer().Fit(input, ValidationData);

    private SetPredictionModelTrainer Trainer() => new(_env, _options, _features, _label, _d, DefaultDecoder);

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SetColumn.ValidateSchemaShape(inputSchema, _label, _d);
        if (!SchemaShapes.TryFindColumn(inputSchema, _features, out _))
            throw new SetColumnException(_features, null, SetRule.ColumnExists, "the feature column was not found in the input schema");
        return SchemaShapes.WithOutputs(inputSchema, Trainer().Describe().GetOutputColumns());
    }
}

/// <summary>Deep Set Prediction Network trainer (Zhang et al. 2019): inner gradient descent on the set, T = 10, η = 800, λ = 0.1.</summary>
public sealed class DspnTrainer : SetPredictionTrainerBase
{
    internal DspnTrainer(IHostEnvironment env, string label, string features, int d, SetPredictionOptions options)
        : base(env, label, features, d, options) { }
    private protected override SetDecoderOptions DefaultDecoder => new DspnOptions();
}

/// <summary>Transformer set predictor trainer (TSPN/DETR style): initial slots refined by attention conditioned on z.</summary>
public sealed class TransformerSetPredictorTrainer : SetPredictionTrainerBase
{
    internal TransformerSetPredictorTrainer(IHostEnvironment env, string label, string features, int d, SetPredictionOptions options)
        : base(env, label, features, d, options) { }
    private protected override SetDecoderOptions DefaultDecoder => new TransformerSetPredictorOptions();
}

/// <summary>MLP set decoder trainer: the DSPN paper's baseline (a list of N elements with mask features).</summary>
public sealed class MlpSetPredictorTrainer : SetPredictionTrainerBase
{
    internal MlpSetPredictorTrainer(IHostEnvironment env, string label, string features, int d, SetPredictionOptions options)
        : base(env, label, features, d, options) { }
    private protected override SetDecoderOptions DefaultDecoder => new MlpSetDecoderOptions();
}
