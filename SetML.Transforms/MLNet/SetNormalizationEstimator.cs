using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;

namespace SetML.Transforms;

/// <summary>
/// Estimator of <c>mlContext.Transforms.NormalizeSetElements(...)</c>: <see cref="Fit"/> computes the mean and standard
/// deviation of each feature over all real elements of all sets (<see cref="SetElementNormalization"/>) and returns a
/// <see cref="SetModelTransformer"/> that writes the standardized sets to the output column (saved and loaded like any
/// SetML model). ML.NET's own normalizers work per slot, which has no meaning for a set column (slot 7 is a different
/// element in every row); this one works per element feature. SetML's trainers and featurizers already do this inside
/// (<see cref="SetModelOptions.NormalizeSetElements"/>); use the transform in front of other components.
/// </summary>
public sealed class SetNormalizationEstimator : IEstimator<SetModelTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly string _output, _input;
    private readonly int _d;

    internal SetNormalizationEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName, int elementDimension)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _output = outputColumnName ?? throw new ArgumentNullException(nameof(outputColumnName));
        _input = inputColumnName ?? outputColumnName;
        if (elementDimension <= 0)
            throw new SetColumnException(_input, null, SetRule.ElementDimensionPositive, $"the element dimension must be positive, but {elementDimension} was given");
        _d = elementDimension;
    }

    /// <summary>Rows per batch when transforming. Default: 256.</summary>
    public int PredictionBatchSize { get; init; } = 256;

    /// <summary>Computes the per-feature statistics of the set column and returns the transformer.</summary>
    public SetModelTransformer Fit(IDataView input)
    {
        MLNetInternals.EnsureSupportedVersion();
        SetColumn.ValidateSchema(input.Schema, _input, _d);
        var modelInput = new ModelInput { ColumnName = _input, Kind = ModelInputKind.Set, ElementDimension = _d };
        var sets = SetDataReader.ReadInput(input, modelInput);
        if (sets.Count == 0) throw new InvalidOperationException($"No rows: the data view given to Fit is empty (set column '{_input}').");
        modelInput.Normalization = SetElementNormalization.Compute(sets, _d);
        var spec = new SetNormalizationModelSpec { Inputs = { modelInput }, OutputColumnName = _output };
        return new SetModelTransformer(_env, spec, spec.CreateNetwork(), SetDevice.Cpu, PredictionBatchSize);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SetColumn.ValidateSchemaShape(inputSchema, _input, _d);
        var cols = inputSchema.ToDictionary(c => c.Name);
        cols[_output] = SchemaShapes.Vector(_output, variable: true);
        return SchemaShapes.Shape(cols.Values);
    }
}
