using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;

namespace SetML.Transforms;

/// <summary>
/// Estimator of the non-learned <c>mlContext.Transforms.SetPooling(...)</c>: nothing to train, so <see cref="Fit"/> only
/// checks the input column and returns a <see cref="SetModelTransformer"/> over a <see cref="SetPoolingModelSpec"/>.
/// </summary>
public sealed class SetPoolingEstimator : IEstimator<SetModelTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly string _output, _input;
    private readonly int _d;
    private readonly SetPoolingKind[] _kinds;

    internal SetPoolingEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, int elementDimension, SetPoolingKind[] kinds)
    {
        _env = env ?? throw new ArgumentNullException(nameof(env));
        _output = outputColumnName ?? throw new ArgumentNullException(nameof(outputColumnName));
        _input = inputColumnName ?? outputColumnName;
        _d = elementDimension;
        if (elementDimension <= 0)
            throw new SetColumnException(_input, null, SetRule.ElementDimensionPositive, $"the element dimension must be positive, but {elementDimension} was given");
        _kinds = kinds is { Length: > 0 } ? kinds.ToArray() : new[] { SetPoolingKind.Mean };
        if (_kinds.Distinct().Count() != _kinds.Length)
            throw new ArgumentException($"Each statistic may appear once, but the kinds were {string.Join(", ", _kinds)}.", nameof(kinds));
    }

    /// <summary>Rows per batch when transforming. Default: 256.</summary>
    public int PredictionBatchSize { get; init; } = 256;

    /// <summary>
    /// Largest accepted number of elements per set (checked on every row; a larger set raises a
    /// <see cref="SetColumnException"/> with rule <see cref="SetRule.MaximumSize"/>); 0 = no fixed limit. Default: 0.
    /// </summary>
    public int MaximumSetSize { get; set; }

    /// <summary>The transformer's <see cref="SetModelTransformer.MemoryBudgetBytes"/> (0 = half of the available memory). Default: 0.</summary>
    public long MemoryBudgetBytes { get; set; }

    /// <summary>Checks the set column and returns the (parameter-free) transformer.</summary>
    public SetModelTransformer Fit(IDataView input)
    {
        MLNetInternals.EnsureSupportedVersion();
        SetColumn.ValidateSchema(input.Schema, _input, _d);
        var spec = new SetPoolingModelSpec
        {
            Inputs = { new ModelInput { ColumnName = _input, Kind = ModelInputKind.Set, ElementDimension = _d, Rules = new SetRules { MaximumSetSize = MaximumSetSize } } },
            Kinds = _kinds.ToArray(),
            OutputColumnName = _output,
        };
        return new SetModelTransformer(_env, spec, spec.CreateNetwork(), SetDevice.Cpu, PredictionBatchSize) { MemoryBudgetBytes = MemoryBudgetBytes };
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SetColumn.ValidateSchemaShape(inputSchema, _input, _d);
        var cols = inputSchema.ToDictionary(c => c.Name);
        cols[_output] = SchemaShapes.Column(_output, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
        return SchemaShapes.Shape(cols.Values);
    }
}
