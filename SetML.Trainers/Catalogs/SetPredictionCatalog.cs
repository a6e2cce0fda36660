using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Losses;
using SetML.Models;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Trainers;
using SetML.Training;
using SetML.Transforms;

namespace SetML;

/// <summary>Entry point of set prediction: <c>mlContext.SetPrediction()</c>.</summary>
public static class SetPredictionMLContextExtensions
{
    /// <summary>The set-prediction catalog: <c>.Trainers.Dspn(...)</c>, <c>.Trainers.TransformerSetPredictor(...)</c>, <c>.Trainers.Mlp(...)</c>, <c>.Evaluate(...)</c>.</summary>
    public static SetPredictionCatalog SetPrediction(this MLContext mlContext)
        => new(MLNetInternals.GetEnvironment((mlContext ?? throw new ArgumentNullException(nameof(mlContext))).Transforms));
}

/// <summary>Trainers and evaluation for predicting a set (vector → set, or set auto-encoding), like ML.NET's task catalogs.</summary>
public sealed class SetPredictionCatalog
{
    internal SetPredictionCatalog(IHostEnvironment env) => Trainers = new SetPredictionTrainers(env);

    /// <summary>The set-prediction trainers.</summary>
    public SetPredictionTrainers Trainers { get; }

    /// <summary>IoU thresholds of the DSPN paper's Table 1 (bounding boxes).</summary>
    public static IReadOnlyList<double> BoxThresholds { get; } = new[] { 0.5, 0.9, 0.95, 0.98, 0.99 };

    /// <summary>Distance thresholds of the DSPN paper's Table 2 (positions): ∞, 1, 0.5, 0.25, 0.125.</summary>
    public static IReadOnlyList<double> DistanceThresholds { get; } = new[] { double.PositiveInfinity, 1, 0.5, 0.25, 0.125 };

    /// <summary>
    /// Evaluates predicted sets against label sets: Chamfer, Hungarian matched error, set-size accuracy and average
    /// precision at <paramref name="thresholds"/> (default: <see cref="BoxThresholds"/> for boxes, <see cref="DistanceThresholds"/> for points).
    /// The element dimension d is read from the <c>SetElementDimension</c> annotation SetML's set predictors write on
    /// the predicted column (an error when it is missing: then use the overload that takes d).
    /// </summary>
    /// <param name="data">Scored data (the output of a set predictor's <c>Transform</c>).</param>
    /// <param name="labelColumnName">The true sets.</param>
    /// <param name="predictedSetColumnName">The predicted sets.</param>
    /// <param name="match">How AP compares elements.</param>
    /// <param name="thresholds">AP thresholds.</param>
    /// <param name="scoreColumnName">Per-element confidences for ranking in AP (null or missing = all 1).</param>
    /// <param name="distanceFeatures">For distance AP: the leading features that form the position (0 = all).</param>
    public SetPredictionMetrics Evaluate(IDataView data, string labelColumnName = "Label", string predictedSetColumnName = "PredictedSet",
        ElementMatch match = ElementMatch.Distance, IReadOnlyList<double>? thresholds = null,
        string? scoreColumnName = "PredictedSetScore", int distanceFeatures = 0)
    {
        var pcol = data.Schema.GetColumnOrNull(predictedSetColumnName)
            ?? throw new SetColumnException(predictedSetColumnName, null, SetRule.ColumnExists, "the predicted set column was not found");
        int d = SetColumn.GetElementDimension(pcol)
            ?? throw new ArgumentException($"Column '{predictedSetColumnName}' has no {SetColumn.ElementDimensionAnnotation} annotation; use the Evaluate overload that takes elementDimension.", nameof(predictedSetColumnName));
        return Evaluate(data, d, labelColumnName, predictedSetColumnName, match, thresholds, scoreColumnName, distanceFeatures);
    }

    /// <summary>
    /// Evaluates predicted sets of elements of dimension <paramref name="elementDimension"/> against label sets (see the
    /// overload that reads d from the predicted column's annotation).
    /// </summary>
    /// <param name="data">Scored data (the output of a set predictor's <c>Transform</c>).</param>
    /// <param name="elementDimension">d of the label and predicted sets.</param>
    /// <param name="labelColumnName">The true sets.</param>
    /// <param name="predictedSetColumnName">The predicted sets.</param>
    /// <param name="match">How AP compares elements.</param>
    /// <param name="thresholds">AP thresholds.</param>
    /// <param name="scoreColumnName">Per-element confidences for ranking in AP (null or missing = all 1).</param>
    /// <param name="distanceFeatures">For distance AP: the leading features that form the position (0 = all).</param>
    public SetPredictionMetrics Evaluate(IDataView data, int elementDimension, string labelColumnName = "Label", string predictedSetColumnName = "PredictedSet",
        ElementMatch match = ElementMatch.Distance, IReadOnlyList<double>? thresholds = null,
        string? scoreColumnName = "PredictedSetScore", int distanceFeatures = 0)
    {
        int d = elementDimension;
        var labels = ReadSets(data, labelColumnName, d);
        var preds = ReadSets(data, predictedSetColumnName, d);
        List<float[]>? scores = scoreColumnName != null && data.Schema.GetColumnOrNull(scoreColumnName) != null ? ReadSets(data, scoreColumnName, 1) : null;
        return SetPredictionMetrics.Compute(preds, scores, labels, d, match, thresholds ?? (match == ElementMatch.BoxIoU ? BoxThresholds : DistanceThresholds), distanceFeatures);
    }

    private static List<float[]> ReadSets(IDataView data, string column, int d)
    {
        SetColumn.ValidateSchema(data.Schema, column, d);
        var input = new ModelInput { ColumnName = column, Kind = ModelInputKind.Set, ElementDimension = d };
        return SetDataReader.ReadInput(data, input);
    }
}

/// <summary>The set-prediction trainers (<c>mlContext.SetPrediction().Trainers</c>).</summary>
public sealed class SetPredictionTrainers
{
    private readonly IHostEnvironment _env;
    internal SetPredictionTrainers(IHostEnvironment env) => _env = env;

    /// <summary>Deep Set Prediction Network (Zhang et al. 2019): the set is decoded by T gradient steps on ‖g_enc(Ŷ) − z‖².</summary>
    /// <param name="labelColumnName">The target set column (n·d Singles per row).</param>
    /// <param name="featureColumnName">A feature vector (or image pixels), or a set column; the label column itself = set auto-encoder.</param>
    /// <param name="elementDimension">d of the label sets.</param>
    /// <param name="options">Training options; <c>options.Decoder</c> null or a <see cref="DspnOptions"/>.</param>
    public DspnTrainer Dspn(string labelColumnName, string featureColumnName, int elementDimension, SetPredictionOptions options)
        => new(_env, labelColumnName, featureColumnName, elementDimension, Checked<DspnOptions>(SimpleArguments.Required(options), nameof(Dspn)));

    /// <summary>Dspn with default options except those given (see the overload with options).</summary>
    /// <param name="labelColumnName">The target set column.</param>
    /// <param name="featureColumnName">A feature vector (or image pixels), or a set column.</param>
    /// <param name="elementDimension">d of the label sets.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public DspnTrainer Dspn(string labelColumnName, string featureColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => Dspn(labelColumnName, featureColumnName, elementDimension, SimpleArguments.Options<SetPredictionOptions>(epochs, batchSize, learningRate));

    /// <summary>Transformer set predictor (TSPN/DETR style): learned (or sampled) slots refined by attention conditioned on z.</summary>
    /// <param name="labelColumnName">The target set column.</param>
    /// <param name="featureColumnName">A feature vector, or a set column.</param>
    /// <param name="elementDimension">d of the label sets.</param>
    /// <param name="options">Training options; <c>options.Decoder</c> null or a <see cref="TransformerSetPredictorOptions"/>.</param>
    public TransformerSetPredictorTrainer TransformerSetPredictor(string labelColumnName, string featureColumnName, int elementDimension, SetPredictionOptions options)
        => new(_env, labelColumnName, featureColumnName, elementDimension, Checked<TransformerSetPredictorOptions>(SimpleArguments.Required(options), nameof(TransformerSetPredictor)));

    /// <summary>TransformerSetPredictor with default options except those given (see the overload with options).</summary>
    /// <param name="labelColumnName">The target set column.</param>
    /// <param name="featureColumnName">A feature vector (or image pixels), or a set column.</param>
    /// <param name="elementDimension">d of the label sets.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public TransformerSetPredictorTrainer TransformerSetPredictor(string labelColumnName, string featureColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => TransformerSetPredictor(labelColumnName, featureColumnName, elementDimension, SimpleArguments.Options<SetPredictionOptions>(epochs, batchSize, learningRate));

    /// <summary>MLP set decoder, the DSPN paper's baseline: N output slots, each an element with a mask feature.</summary>
    /// <param name="labelColumnName">The target set column.</param>
    /// <param name="featureColumnName">A feature vector, or a set column.</param>
    /// <param name="elementDimension">d of the label sets.</param>
    /// <param name="options">Training options; <c>options.Decoder</c> null or a <see cref="MlpSetDecoderOptions"/>.</param>
    public MlpSetPredictorTrainer Mlp(string labelColumnName, string featureColumnName, int elementDimension, SetPredictionOptions options)
        => new(_env, labelColumnName, featureColumnName, elementDimension, Checked<MlpSetDecoderOptions>(SimpleArguments.Required(options), nameof(Mlp)));

    /// <summary>Mlp with default options except those given (see the overload with options).</summary>
    /// <param name="labelColumnName">The target set column.</param>
    /// <param name="featureColumnName">A feature vector (or image pixels), or a set column.</param>
    /// <param name="elementDimension">d of the label sets.</param>
    /// <param name="epochs"><see cref="SetTrainingOptions.Epochs"/>; null = its default.</param>
    /// <param name="batchSize"><see cref="SetTrainingOptions.BatchSize"/>; null = its default.</param>
    /// <param name="learningRate"><see cref="SetTrainingOptions.LearningRate"/>; null = its default.</param>
    public MlpSetPredictorTrainer Mlp(string labelColumnName, string featureColumnName, int elementDimension, int? epochs = null, int? batchSize = null, double? learningRate = null)
        => Mlp(labelColumnName, featureColumnName, elementDimension, SimpleArguments.Options<SetPredictionOptions>(epochs, batchSize, learningRate));

    private static SetPredictionOptions Checked<T>(SetPredictionOptions options, string method) where T : SetDecoderOptions
    {
        if (options.Decoder != null && options.Decoder is not T)
            throw new ArgumentException($"{method}(...) trains a {typeof(T).Name.Replace("Options", "")} decoder, but options.Decoder is {options.Decoder.GetType().Name}.", nameof(options));
        return options;
    }
}
