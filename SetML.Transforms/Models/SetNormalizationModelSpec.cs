using TorchSharp;
using static TorchSharp.torch;
using SetML.Modules;

namespace SetML.Models;

/// <summary>
/// The set-element standardization transform on its own (<c>mlContext.Transforms.NormalizeSetElements(...)</c>): its
/// only input carries the statistics (<see cref="ModelInput.Normalization"/>, learned in <c>Fit</c>), which every batch
/// gets applied before the network; the network is the identity, so the output column is the standardized set (a set
/// column with the input's element dimension). Persisted through the generic <c>SetModelTransformer</c> like every model.
/// </summary>
[SpecType("model.set-normalization")]
public sealed class SetNormalizationModelSpec : ModelSpec
{
    /// <summary>Name of the output set column.</summary>
    public string OutputColumnName { get; set; } = "Set";

    /// <inheritdoc />
    public override nn.Module CreateNetwork() => nn.Identity();

    /// <inheritdoc />
    public override ModelOutputs CreateOutputs() => ModelOutputs.Create<nn.Module, float[][]>(
        (_, batch) => SetToSetModelSpec.PerElementRows(batch.X[0], batch.Mask[0]!.sum(1).CopyToArray<long>()),
        OutputColumn.Set<float[][]>(OutputColumnName, Inputs[0].ElementDimension, rows => rows));
}
