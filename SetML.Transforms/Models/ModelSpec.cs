using SetML.SetColumns;
using TorchSharp;
using SetML.Modules;
using static TorchSharp.torch;

namespace SetML.Models;

/// <summary>How a model input column is read.</summary>
public enum ModelInputKind
{
    /// <summary>A set column: variable-length vector of n·d Single values, batched as padded <c>[B, Nmax, d]</c> + mask.</summary>
    Set,
    /// <summary>A fixed-size vector of Single (features, image pixels), batched as <c>[B, F]</c>.</summary>
    Vector,
}

/// <summary>One input column of a SetML model.</summary>
public sealed class ModelInput
{
    /// <summary>Name of the input column.</summary>
    public string ColumnName { get; set; } = "";
    /// <summary>How the column is read.</summary>
    public ModelInputKind Kind { get; set; }
    /// <summary>Element dimension d for a set input (0 for a vector input). Required: there is no default d.</summary>
    public required int ElementDimension { get; set; }
    /// <summary>Vector size for a vector input (0 before training has seen the data).</summary>
    public int VectorSize { get; set; }
    /// <summary>Row rules for a set input.</summary>
    public SetRules Rules { get; set; } = new();
    /// <summary>
    /// Per-feature standardization of a set input's elements, computed in <c>Fit</c> and applied to every set before the
    /// network sees it; null = none (the identity — also what model files written before it existed get).
    /// </summary>
    public SetElementNormalization? Normalization { get; set; }

    /// <summary>The sets as the network sees them: normalized when <see cref="Normalization"/> is set, else unchanged.</summary>
    public IReadOnlyList<float[]> Prepare(IReadOnlyList<float[]> sets)
        => Kind == ModelInputKind.Set && Normalization != null ? sets.Select(Normalization.Apply).ToArray() : sets;
}

/// <summary>The value type of a model output column.</summary>
public enum ModelOutputKind
{
    /// <summary>One Single per row.</summary>
    Single,
    /// <summary>One Boolean per row.</summary>
    Boolean,
    /// <summary>A key (UInt32, 1-based, 0 = missing) into <see cref="ModelOutputColumn.KeyValues"/>.</summary>
    Key,
    /// <summary>A fixed-size vector of Single of <see cref="ModelOutputColumn.Size"/>.</summary>
    Vector,
    /// <summary>A set column: variable-length vector of n·d Single with the SetElementDimension annotation d = <see cref="ModelOutputColumn.Size"/>.</summary>
    Set,
    /// <summary>A variable-length vector of Single (e.g. one value per input element).</summary>
    VariableVector,
}

/// <summary>One output column of a SetML model.</summary>
public sealed class ModelOutputColumn
{
    /// <summary>Creates an output column description.</summary>
    public ModelOutputColumn(string name, ModelOutputKind kind, int size = 0, string[]? keyValues = null, string[]? slotNames = null,
        string? keyValueType = null)
    {
        Name = name; Kind = kind; Size = size; KeyValues = keyValues; SlotNames = slotNames; KeyValueType = keyValueType;
    }
    /// <summary>Column name.</summary>
    public string Name { get; }
    /// <summary>Value type.</summary>
    public ModelOutputKind Kind { get; }
    /// <summary>Vector size, set element dimension, or key count, depending on <see cref="Kind"/>.</summary>
    public int Size { get; }
    /// <summary>Key values (for <see cref="ModelOutputKind.Key"/>), written as the KeyValues annotation.</summary>
    public string[]? KeyValues { get; }
    /// <summary>
    /// The .NET type name of the key values (<c>Single</c>, <c>Double</c>, <c>Int32</c>, …; null or <c>String</c> = text):
    /// the KeyValues annotation gets that type, as ML.NET's trainers copy the label's, so <c>MapKeyToValue</c> gives back
    /// values of the label's original type.
    /// </summary>
    public string? KeyValueType { get; }
    /// <summary>Slot names (for <see cref="ModelOutputKind.Vector"/>), written as the SlotNames annotation.</summary>
    public string[]? SlotNames { get; }
}

/// <summary>A batch of model inputs as tensors: one entry per <see cref="ModelSpec.Inputs"/> item.</summary>
public sealed class ModelInputBatch : IDisposable
{
    /// <summary>Creates a batch from raw rows: <paramref name="rows"/>[input][row] is the flat value array.</summary>
    public ModelInputBatch(IReadOnlyList<ModelInput> inputs, IReadOnlyList<IReadOnlyList<float[]>> rows, Device? device = null)
    {
        Count = rows.Count == 0 ? 0 : rows[0].Count;
        X = new Tensor[inputs.Count];
        Mask = new Tensor?[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Kind == ModelInputKind.Set)
            {
                // Standardized on the way into the tensor: the values of Prepare, without a normalized copy of each set.
                var (x, m) = SetBatch.Pad(rows[i], inputs[i].ElementDimension, device, 0, inputs[i].Normalization);
                X[i] = x; Mask[i] = m;
            }
            else
            {
                int f = inputs[i].VectorSize > 0 ? inputs[i].VectorSize : (rows[i].Count > 0 ? rows[i][0].Length : 0);
                var t = VectorRows(rows[i], Count, f);
                X[i] = device != null && device.type != DeviceType.CPU ? t.to(device) : t;
                if (!ReferenceEquals(X[i], t)) t.Dispose();
            }
        }
    }

    // [count, f], written straight into libtorch's storage (TensorData.Create).
    private static Tensor VectorRows(IReadOnlyList<float[]> rows, int count, int f)
        => TensorData.Create(new long[] { count, f }, (rows, count, f), static (Span<float> values, (IReadOnlyList<float[]> Rows, int Count, int F) s) =>
        {
            for (int r = 0; r < s.Count; r++) s.Rows[r].AsSpan(0, s.F).CopyTo(values.Slice(r * s.F, s.F));
        });

    /// <summary>Number of rows.</summary>
    public int Count { get; }
    /// <summary>Per input: <c>[B, Nmax, d]</c> for sets, <c>[B, F]</c> for vectors.</summary>
    public Tensor[] X { get; }
    /// <summary>Per input: the <c>[B, Nmax]</c> mask for sets, null for vectors.</summary>
    public Tensor?[] Mask { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var x in X) x?.Dispose();
        foreach (var m in Mask) m?.Dispose();
    }
}

/// <summary>
/// A <see cref="ModelSpec"/> whose network has a known type, so the trainers build, train and read it without
/// down-casting <see cref="nn.Module"/>.
/// </summary>
internal interface INetworkSpec<out TNetwork> where TNetwork : nn.Module
{
    /// <summary>Creates the untrained network: the same as <see cref="ModelSpec.CreateNetwork"/>, typed.</summary>
    TNetwork CreateTypedNetwork();
}

/// <summary>
/// Everything needed to rebuild a trained SetML network and turn its outputs into columns — except the weights.
/// Serialized as JSON inside the model .zip (see <see cref="SpecJson"/>). One subclass per task family; adding a task
/// means writing one subclass (and its trainer). Subclasses must be free of ML.NET types.
/// </summary>
[PolymorphicSpec]
public abstract class ModelSpec
{
    /// <summary>The model's input columns, in the order the network consumes them.</summary>
    public List<ModelInput> Inputs { get; set; } = new();

    /// <summary>Creates the (untrained) network. Called with the global seed already set; the result must be deterministic.</summary>
    public abstract nn.Module CreateNetwork();

    /// <summary>
    /// The columns this model adds to a data view, each declared with the function that fills it from the network's
    /// output (see <see cref="ModelOutputs"/>).
    /// </summary>
    public abstract ModelOutputs CreateOutputs();

    /// <summary>The columns this model adds to a data view (the <see cref="ModelOutputs.Columns"/> of <see cref="CreateOutputs"/>).</summary>
    public IReadOnlyList<ModelOutputColumn> GetOutputColumns() => CreateOutputs().Columns;

    /// <summary>
    /// Bytes the forward pass of this model allocates for <paramref name="batch"/> rows whose set inputs are padded to
    /// <paramref name="setSizes"/>[i] elements (one entry per <see cref="Inputs"/> item; ignored for vector inputs).
    /// Checked against the <see cref="Training.MemoryBudget"/> before any tensor is created. The base implementation
    /// assumes an unknown quadratic cost (<see cref="ForwardMemory.UnknownEncoder"/>); every SetML model overrides it.
    /// </summary>
    public virtual double EstimateForwardBytes(int batch, IReadOnlyList<long> setSizes)
        => Inputs.Select((input, i) => input.Kind == ModelInputKind.Set
            ? ForwardMemory.UnknownEncoder(batch, setSizes[i], input.ElementDimension)
            : (double)batch * input.VectorSize * ForwardMemory.FloatBytes).Sum();

    /// <summary>
    /// Whether the forward pass at prediction takes gradient steps of its own (DSPN's inner loop): it then runs under
    /// <c>torch.no_grad()</c>, which the network may lift with <c>torch.enable_grad()</c>, instead of
    /// <c>torch.inference_mode()</c>, which it cannot (tensors made in inference mode never enter autograd). Default
    /// false: inference mode, which also spares concurrent predictions the weights' autograd locks. Override it in a spec
    /// whose network needs gradients while it predicts. Not saved: it belongs to the code, not to the trained model.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public virtual bool PredictsWithGradients => false;

    /// <summary>What the forward memory grows with, for error messages (e.g. "SAB attention, quadratic in the set size").</summary>
    public virtual string DescribeMemory() => $"{GetType().Name}, memory assumed quadratic in the set size";
}
