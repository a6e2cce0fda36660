using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Models;

/// <summary>
/// One output column of a model together with the function that fills it from the network's forward result
/// (<typeparamref name="TForward"/>) for a whole batch. Created with the typed factories of <see cref="OutputColumn"/>,
/// which tie the column's <see cref="ModelOutputKind"/> to the .NET type its extractor returns.
/// </summary>
/// <typeparam name="TForward">What the model's forward step returns for a batch (a tensor, a tuple of tensors, …).</typeparam>
public abstract class OutputColumn<TForward>
{
    private protected OutputColumn(ModelOutputColumn column) => Column = column;

    /// <summary>The column's name, type and annotations.</summary>
    public ModelOutputColumn Column { get; }

    /// <summary>The column's values for every row of the batch (one array element per row).</summary>
    internal abstract Array Extract(TForward forward);
}

/// <summary>Factories of <see cref="OutputColumn{TForward}"/>: one per <see cref="ModelOutputKind"/>, each with its value type.</summary>
public static class OutputColumn
{
    /// <summary>A <see cref="ModelOutputKind.Single"/> column: one float per row.</summary>
    public static OutputColumn<TForward> Single<TForward>(string name, Func<TForward, float[]> extract)
        => new Typed<TForward, float>(new ModelOutputColumn(name, ModelOutputKind.Single), extract);

    /// <summary>A <see cref="ModelOutputKind.Boolean"/> column: one bool per row.</summary>
    public static OutputColumn<TForward> Boolean<TForward>(string name, Func<TForward, bool[]> extract)
        => new Typed<TForward, bool>(new ModelOutputColumn(name, ModelOutputKind.Boolean), extract);

    /// <summary>A <see cref="ModelOutputKind.Key"/> column of <paramref name="count"/> keys: one 1-based key per row (0 = missing).</summary>
    public static OutputColumn<TForward> Key<TForward>(string name, int count, string[]? keyValues, string? keyValueType, Func<TForward, uint[]> extract)
        => new Typed<TForward, uint>(new ModelOutputColumn(name, ModelOutputKind.Key, count, keyValues: keyValues, keyValueType: keyValueType), extract);

    /// <summary>A <see cref="ModelOutputKind.Vector"/> column: <paramref name="size"/> floats per row.</summary>
    public static OutputColumn<TForward> Vector<TForward>(string name, int size, string[]? slotNames, Func<TForward, float[][]> extract)
        => new Typed<TForward, float[]>(new ModelOutputColumn(name, ModelOutputKind.Vector, size, slotNames: slotNames), extract);

    /// <summary>A <see cref="ModelOutputKind.Set"/> column of element dimension <paramref name="elementDimension"/>: n·d floats per row.</summary>
    public static OutputColumn<TForward> Set<TForward>(string name, int elementDimension, Func<TForward, float[][]> extract)
        => new Typed<TForward, float[]>(new ModelOutputColumn(name, ModelOutputKind.Set, elementDimension), extract);

    /// <summary>A <see cref="ModelOutputKind.VariableVector"/> column: any number of floats per row.</summary>
    public static OutputColumn<TForward> VariableVector<TForward>(string name, Func<TForward, float[][]> extract)
        => new Typed<TForward, float[]>(new ModelOutputColumn(name, ModelOutputKind.VariableVector), extract);

    private sealed class Typed<TForward, TValue>(ModelOutputColumn column, Func<TForward, TValue[]> extract) : OutputColumn<TForward>(column)
    {
        internal override Array Extract(TForward forward) => extract(forward);
    }
}

/// <summary>
/// How a model turns a batch into its output columns: one forward step over the batch, then one extractor per declared
/// column (<see cref="OutputColumn{TForward}"/>). A <see cref="ModelSpec"/> returns it from
/// <see cref="ModelSpec.CreateOutputs"/>; the schema (<see cref="ModelSpec.GetOutputColumns"/>) and the transformer's
/// getters both come from it, so a column and the code that fills it are declared together.
/// </summary>
public abstract class ModelOutputs
{
    private protected ModelOutputs() { }

    /// <summary>The output columns, in schema order.</summary>
    public abstract IReadOnlyList<ModelOutputColumn> Columns { get; }

    /// <summary>
    /// Runs the forward step on <paramref name="batch"/> (network in eval mode, under no_grad) and every column's
    /// extractor; result k holds column k's values for the batch's rows.
    /// </summary>
    internal abstract Array[] Predict(nn.Module network, ModelInputBatch batch);

    /// <summary>
    /// Outputs computed by <paramref name="forward"/> (run once per batch, inside a dispose scope) and read by each
    /// column's extractor.
    /// </summary>
    /// <typeparam name="TNetwork">The network type the spec creates.</typeparam>
    /// <typeparam name="TForward">What the forward step returns.</typeparam>
    public static ModelOutputs Create<TNetwork, TForward>(Func<TNetwork, ModelInputBatch, TForward> forward, params OutputColumn<TForward>[] columns)
        where TNetwork : nn.Module
        => new Typed<TNetwork, TForward>(forward, columns);

    private sealed class Typed<TNetwork, TForward> : ModelOutputs where TNetwork : nn.Module
    {
        private readonly Func<TNetwork, ModelInputBatch, TForward> _forward;
        private readonly OutputColumn<TForward>[] _columns;
        private readonly ModelOutputColumn[] _descriptions;

        public Typed(Func<TNetwork, ModelInputBatch, TForward> forward, OutputColumn<TForward>[] columns)
        {
            _forward = forward ?? throw new ArgumentNullException(nameof(forward));
            _columns = columns ?? throw new ArgumentNullException(nameof(columns));
            _descriptions = columns.Select(c => c.Column).ToArray();
        }

        public override IReadOnlyList<ModelOutputColumn> Columns => _descriptions;

        internal override Array[] Predict(nn.Module network, ModelInputBatch batch)
        {
            if (network is not TNetwork typed)
                throw new ArgumentException($"The network is a {network.GetType().Name}, but this model's outputs read a {typeof(TNetwork).Name}.", nameof(network));
            using var scope = torch.NewDisposeScope();
            var forward = _forward(typed, batch);
            var values = new Array[_columns.Length];
            for (int k = 0; k < _columns.Length; k++)
            {
                values[k] = _columns[k].Extract(forward);
                if (values[k].Length != batch.Count)
                    throw new InvalidOperationException(
                        $"Output column '{_descriptions[k].Name}' produced {values[k].Length} values for a batch of {batch.Count} rows.");
            }
            return values;
        }
    }
}
