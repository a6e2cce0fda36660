using System.IO.Hashing;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Models;
using SetML.Persistence;
using SetML.SetColumns;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Transforms;

/// <summary>
/// The transformer every trained SetML model becomes: a TorchSharp network plus a <see cref="ModelSpec"/> that says
/// which columns it reads and writes. It behaves like any ML.NET transformer: lazy <see cref="Transform"/> (rows
/// stream through a cursor, batched for speed), <see cref="GetRowToRowMapper"/> (so PredictionEngine works),
/// schema propagation, and <c>mlContext.Model.Save/Load</c> (weights stored in the .zip with a checksum).
/// </summary>
/// <remarks>
/// Thread safety: a transformer may be used from several threads at once (several cursors, prediction engines
/// or a parallel ML.NET pipeline), and forward passes run in parallel. The network is put in eval mode once, when the
/// transformer is built, and prediction only reads it: every call builds its own input tensors in its own dispose
/// scope under <c>torch.inference_mode()</c> (<c>torch.no_grad()</c> for DSPN, whose forward pass takes gradient steps;
/// TorchSharp's dispose scopes and libtorch's grad mode are per thread), random
/// draws at prediction use per-call generators, and each cursor keeps its own buffers. Saving reads the weights and
/// may run while other threads predict. Do not change <see cref="Network"/> (train mode, weights, device) while the
/// transformer is in use.
/// </remarks>
public sealed class SetModelTransformer : ITransformer, IDisposable
{
    internal const string LoaderSignature = "SetMLModelTransformer";
    private const string ModelSignature = "SETMLMOD";
    private const string WeightsStreamName = "SetMLWeights.bin";

    /// <summary>The SetML payload format this version writes (and the newest it reads).</summary>
    internal const int CurrentFormatVersion = 2;

    /// <summary>For tests only: the format version written when saving (simulates a newer SetML).</summary>
    internal static int FormatVersionForWriting = CurrentFormatVersion;

    private readonly IHost _host;
    private readonly nn.Module _network;
    private readonly ModelOutputs _predictor;
    private readonly ModelOutputColumn[] _outputs;
    private readonly torch.Device _torchDevice;
    private bool _disposed;

    internal SetModelTransformer(IHostEnvironment env, ModelSpec spec, nn.Module network, SetDevice device, int predictionBatchSize)
    {
        MLNetInternals.EnsureSupportedVersion();
        _host = (env ?? throw new ArgumentNullException(nameof(env))).Register(nameof(SetModelTransformer));
        Spec = spec;
        Device = device;
        PredictionBatchSize = Math.Max(1, predictionBatchSize);
        // Resolved once, with the MLContext's GpuDeviceId/FallbackToCpu for SetDevice.Auto (moving is a no-op when
        // the trainer already put the network there).
        try { _torchDevice = TorchRuntime.Resolve(device, MLNetInternals.GetDeviceSettings(env)); }
        catch { network.Dispose(); throw; }
        _network = network;
        if (_torchDevice.type != DeviceType.CPU) _network.to(_torchDevice);
        _network.eval();
        _predictor = spec.CreateOutputs();
        _outputs = _predictor.Columns.ToArray();
    }

    /// <summary>What the model reads and writes, and its architecture.</summary>
    public ModelSpec Spec { get; }

    /// <summary>
    /// The trained TorchSharp network (in eval mode). Use <see cref="Spec"/> to interpret it. Predictions read it
    /// concurrently and without a lock: do not switch it to train mode, change its weights or move it while the
    /// transformer is in use.
    /// </summary>
    public nn.Module Network => _network;

    /// <summary>The device predictions run on.</summary>
    public SetDevice Device { get; }

    /// <summary>Rows per forward pass in <see cref="Transform"/>.</summary>
    public int PredictionBatchSize { get; }

    /// <summary>
    /// The memory one forward pass may use at prediction, in bytes (0 = <see cref="MemoryBudget.DefaultBytes"/>, half of
    /// the memory available to the process). A batch whose estimated forward memory exceeds it is split; a row whose set
    /// alone exceeds it raises <see cref="SetColumnException"/> (rule <see cref="SetRule.MemoryBudget"/>) before anything
    /// is allocated. Set from <see cref="SetTrainingOptions.MemoryBudgetBytes"/> at <c>Fit</c>; not saved with the model
    /// (the budget belongs to the machine): a loaded model starts at 0. May be changed at any time.
    /// </summary>
    public long MemoryBudgetBytes
    {
        get => _memoryBudgetBytes;
        set => _memoryBudgetBytes = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MemoryBudgetBytes must be ≥ 0 (0 = default).");
    }
    private long _memoryBudgetBytes;

    /// <summary>Names of the columns this transformer adds.</summary>
    public IReadOnlyList<string> OutputColumnNames => _outputs.Select(o => o.Name).ToArray();

    /// <summary>Always true: the transformer maps each row independently.</summary>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckInputSchema(inputSchema);
        return BuildOutputSchema(inputSchema);
    }

    /// <summary>Applies the model lazily: nothing is computed until a cursor reads an output column.</summary>
    public IDataView Transform(IDataView input)
    {
        CheckInputSchema(input.Schema);
        return new SetModelDataView(this, input, BuildOutputSchema(input.Schema));
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        CheckInputSchema(inputSchema);
        return new SetModelRowMapper(this, inputSchema, BuildOutputSchema(inputSchema));
    }

    private void CheckInputSchema(DataViewSchema schema)
    {
        foreach (var input in Spec.Inputs)
        {
            if (input.Kind == ModelInputKind.Set)
                SetColumn.ValidateSchema(schema, input.ColumnName, input.ElementDimension);
            else
            {
                var col = schema.GetColumnOrNull(input.ColumnName)
                    ?? throw new SetColumnException(input.ColumnName, null, SetRule.ColumnExists, "the column was not found in the input schema");
                if (col.Type is not VectorDataViewType vt || vt.ItemType != NumberDataViewType.Single || (input.VectorSize > 0 && vt.Size != input.VectorSize))
                    throw new SetColumnException(input.ColumnName, null, SetRule.ColumnType,
                        $"expected a vector of Single of size {input.VectorSize}, but the column has type {col.Type}");
            }
        }
    }

    private DataViewSchema BuildOutputSchema(DataViewSchema input)
    {
        var b = new DataViewSchema.Builder();
        b.AddColumns(input);
        foreach (var o in _outputs) b.AddColumn(o.Name, ToDataViewType(o), BuildAnnotations(o));
        return b.ToSchema();
    }

    internal static DataViewType ToDataViewType(ModelOutputColumn o) => o.Kind switch
    {
        ModelOutputKind.Single => NumberDataViewType.Single,
        ModelOutputKind.Boolean => BooleanDataViewType.Instance,
        ModelOutputKind.Key => new KeyDataViewType(typeof(uint), o.Size),
        ModelOutputKind.Vector => new VectorDataViewType(NumberDataViewType.Single, o.Size),
        ModelOutputKind.Set or ModelOutputKind.VariableVector => new VectorDataViewType(NumberDataViewType.Single),
        _ => throw new ArgumentOutOfRangeException(nameof(o)),
    };

    internal static DataViewSchema.Annotations? BuildAnnotations(ModelOutputColumn o)
    {
        var b = new DataViewSchema.Annotations.Builder();
        if (o.Kind == ModelOutputKind.Set) SetColumn.AddElementDimension(b, o.Size);
        if (o.Kind == ModelOutputKind.Key && o.KeyValues != null) AddKeyValues(b, o.KeyValues, o.KeyValueType);
        if (o.Kind == ModelOutputKind.Vector && o.SlotNames != null)
        {
            var names = o.SlotNames;
            b.AddSlotNames(names.Length, (ref VBuffer<ReadOnlyMemory<char>> v)
                => v = new VBuffer<ReadOnlyMemory<char>>(names.Length, names.Select(s => s.AsMemory()).ToArray()));
        }
        return b.ToAnnotations();
    }

    /// <summary>Adds a KeyValues annotation of the type named by <paramref name="type"/> (the .NET type name; text when null or unknown).</summary>
    private static void AddKeyValues(DataViewSchema.Annotations.Builder b, string[] values, string? type)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        void Add<T>(PrimitiveDataViewType t, Func<string, T> parse)
        {
            var parsed = values.Select(parse).ToArray();
            b.AddKeyValues(parsed.Length, t, (ref VBuffer<T> v) => v = new VBuffer<T>(parsed.Length, parsed.ToArray()));
        }
        switch (type)
        {
            case nameof(Single): Add(NumberDataViewType.Single, s => float.Parse(s, inv)); break;
            case nameof(Double): Add(NumberDataViewType.Double, s => double.Parse(s, inv)); break;
            case nameof(Int32): Add(NumberDataViewType.Int32, s => int.Parse(s, inv)); break;
            case nameof(UInt32): Add(NumberDataViewType.UInt32, s => uint.Parse(s, inv)); break;
            case nameof(Int64): Add(NumberDataViewType.Int64, s => long.Parse(s, inv)); break;
            case nameof(UInt64): Add(NumberDataViewType.UInt64, s => ulong.Parse(s, inv)); break;
            case nameof(Int16): Add(NumberDataViewType.Int16, s => short.Parse(s, inv)); break;
            case nameof(UInt16): Add(NumberDataViewType.UInt16, s => ushort.Parse(s, inv)); break;
            case nameof(Byte): Add(NumberDataViewType.Byte, s => byte.Parse(s, inv)); break;
            case nameof(SByte): Add(NumberDataViewType.SByte, s => sbyte.Parse(s, inv)); break;
            case nameof(Boolean): Add(BooleanDataViewType.Instance, bool.Parse); break;
            default: Add(TextDataViewType.Instance, s => s.AsMemory()); break;
        }
    }

    /// <summary>
    /// Validates and predicts a batch of raw rows: <paramref name="rows"/>[input][row]. <paramref name="firstRow"/> is the
    /// index of the first row in the data view (for error messages). Returns one array per output column.
    /// </summary>
    internal Array[] PredictRows(IReadOnlyList<IReadOnlyList<float[]>> rows, long firstRow)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (int i = 0; i < Spec.Inputs.Count; i++)
        {
            var input = Spec.Inputs[i];
            for (int r = 0; r < rows[i].Count; r++)
            {
                if (input.Kind == ModelInputKind.Set)
                    input.Rules.Check(input.ColumnName, firstRow + r, rows[i][r], input.ElementDimension);
                else
                    CheckVector(input, rows[i][r], firstRow + r);
            }
        }
        // Memory: refuse a set whose forward pass alone exceeds the budget, split a batch that would — before any tensor exists.
        var guard = _guard;
        if (guard == null || guard.Budget != MemoryBudget.Resolve(MemoryBudgetBytes))
            _guard = guard = new MemoryGuard(Spec, MemoryBudgetBytes, training: false, $"{nameof(SetModelTransformer)}.{nameof(MemoryBudgetBytes)}");
        int count = rows.Count == 0 ? 0 : rows[0].Count;
        // The set sizes of each row, computed once (a prediction engine's single row: one small array, no iterators).
        var sizes = new long[count][];
        for (int r = 0; r < count; r++)
        {
            var rowSizes = sizes[r] = new long[Spec.Inputs.Count];
            for (int i = 0; i < rowSizes.Length; i++)
                if (Spec.Inputs[i].Kind == ModelInputKind.Set) rowSizes[i] = rows[i][r].Length / Spec.Inputs[i].ElementDimension;
        }
        for (int r = 0; r < count; r++) guard.CheckRow(sizes[r], firstRow + r);
        // One row (a PredictionEngine's) fits once checked; a batch may need splitting.
        return count <= 1 ? PredictBatch(rows) : PredictParts(rows, sizes, guard);
    }

    // The memory guard of the current budget, made again only when MemoryBudgetBytes changes.
    private MemoryGuard? _guard;

    /// <summary>
    /// A batch that passed <see cref="MemoryGuard.CheckRow"/>: one forward pass when it fits the memory budget, else one
    /// per part that fits, merged back in row order. (Apart from <see cref="PredictRows"/>, whose single rows then
    /// allocate none of these lambdas' closures.)
    /// </summary>
    private Array[] PredictParts(IReadOnlyList<IReadOnlyList<float[]>> rows, long[][] sizes, MemoryGuard guard)
    {
        int count = sizes.Length;
        var parts = guard.Split(Enumerable.Range(0, count).ToArray(), r => sizes[r]);
        if (parts.Count == 1) return PredictBatch(rows);
        var results = parts.Select(part => (part, PredictBatch(rows.Select(input => (IReadOnlyList<float[]>)part.Select(r => input[r]).ToList()).ToList()))).ToList();
        var merged = results[0].Item2.Select(a => Array.CreateInstance(a.GetType().GetElementType()!, count)).ToArray();
        foreach (var (part, outputs) in results)
            for (int k = 0; k < merged.Length; k++)
                for (int j = 0; j < part.Length; j++) merged[k].SetValue(outputs[k].GetValue(j), part[j]);
        return merged;
    }

    // No lock: the network is in eval mode since construction and is only read here; the dispose scope and grad mode
    // are the calling thread's, and everything else this creates belongs to the call (see the class remarks).
    private Array[] PredictBatch(IReadOnlyList<IReadOnlyList<float[]>> rows)
    {
        // No dispose scope here (a HashSet per call): the input tensors are the batch's, disposed with it, and the
        // forward pass's are ModelOutputs.Predict's.
        // Inference mode where the model allows it: besides no gradients it turns off forward-mode AD, whose check
        // locks each weight's autograd mutex inside every Linear (threads predicting with one model then queue on it),
        // and the version counters and view records of no_grad (docs/architecture.md, threading model).
        using IDisposable gradients = Spec.PredictsWithGradients ? torch.no_grad() : torch.inference_mode();
        // A few rows of small sets run on this thread alone (no OpenMP fan-out for tensors too small to split) — from
        // building the input tensors (standardization, padding, mask) to the outputs.
        using var threads = IntraOpThreads.ForWork(PaddedElements(rows));
        using var batch = new ModelInputBatch(Spec.Inputs, rows, _torchDevice);
        return _predictor.Predict(_network, batch);
    }

    /// <summary>Rows × padded set length, summed over the set inputs: the size of the batch <paramref name="rows"/> makes.</summary>
    private long PaddedElements(IReadOnlyList<IReadOnlyList<float[]>> rows)
    {
        long total = 0;
        for (int i = 0; i < Spec.Inputs.Count; i++)
            if (Spec.Inputs[i].Kind == ModelInputKind.Set) total += (long)rows[i].Count * SetBatch.PaddedLength(rows[i], Spec.Inputs[i].ElementDimension);
        return total;
    }

    internal static void CheckVector(ModelInput input, float[] v, long row)
    {
        if (input.VectorSize > 0 && v.Length != input.VectorSize)
            throw new SetColumnException(input.ColumnName, row, SetRule.LengthMultipleOfDimension,
                $"expected {input.VectorSize} values, got {v.Length}");
        for (int j = 0; j < v.Length; j++)
            if (!float.IsFinite(v[j]))
                throw new SetColumnException(input.ColumnName, row, SetRule.FiniteValues, $"value {j} is {v[j]}; values must be finite");
    }

    internal ModelOutputColumn[] Outputs => _outputs;

    /// <summary>The forward step and column extractors (for the bench's raw batched forward).</summary>
    internal ModelOutputs Predictor => _predictor;

    // ───────────────────────────── persistence ─────────────────────────────
    // Model stream layout (SetML format version 2), written after ML.NET's version header:
    //   int32   SetML format version (2)
    //   string  ModelSpec as JSON: stable "$type" names and a "$version" per component (SpecJson, SpecTypeAttribute)
    //   int32   SetDevice used for prediction
    //   int32   prediction batch size
    //   int32   weights format version (1: WeightArchive's layout)
    //   int64   length of the weights blob in bytes
    //   uint64  XxHash64 of the weights blob
    //   uint64  XxHash64 of the above (UTF-8 JSON, device, batch size, weights version, length, weights hash)
    // Binary stream "SetMLWeights.bin": the network's state in WeightArchive's layout, keyed by stable weight names.
    //
    // Format version 1 (read, migrated by ModelFormatMigrations): no weights version and no header hash; "$type" was the
    // C# class name and there was no "$version"; the weights were TorchSharp's Module.save (same layout, field names).

    /// <summary>The newest weights-entry format this SetML writes and reads.</summary>
    internal const int CurrentWeightsFormatVersion = 1;

    /// <summary>Most bytes a weights entry may declare (the largest .NET byte array).</summary>
    internal const long MaxWeightsBytes = int.MaxValue - 64;

    /// <summary>For tests only: rewrites the spec JSON when saving (simulates an edited or foreign model file with valid checksums).</summary>
    internal static Func<string, string>? SpecJsonRewriterForWriting;

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        var w = new SetMLModelWriter(ctx);
        w.SetVersion(ModelSignature, 0x00010001, 0x00010001, 0x00010001, LoaderSignature, typeof(SetModelTransformer));
        byte[] weights = SaveWeights();
        string json = SpecJson.Serialize(Spec);
        if (SpecJsonRewriterForWriting != null) json = SpecJsonRewriterForWriting(json);
        ulong weightsHash = XxHash64.HashToUInt64(weights);
        w.Writer.Write(FormatVersionForWriting);
        w.Writer.Write(json);
        w.Writer.Write((int)Device);
        w.Writer.Write(PredictionBatchSize);
        w.Writer.Write(CurrentWeightsFormatVersion);
        w.Writer.Write((long)weights.Length);
        w.Writer.Write(weightsHash);
        w.Writer.Write(HeaderHash(json, (int)Device, PredictionBatchSize, CurrentWeightsFormatVersion, weights.Length, weightsHash));
        w.SaveBinaryStream(WeightsStreamName, bw => bw.Write(weights));
    }

    private static ulong HeaderHash(string json, int device, int batch, int weightsVersion, long length, ulong weightsHash)
    {
        var h = new XxHash64();
        h.Append(System.Text.Encoding.UTF8.GetBytes(json));
        Span<byte> b = stackalloc byte[28];
        BitConverter.TryWriteBytes(b, device);
        BitConverter.TryWriteBytes(b[4..], batch);
        BitConverter.TryWriteBytes(b[8..], weightsVersion);
        BitConverter.TryWriteBytes(b[12..], length);
        BitConverter.TryWriteBytes(b[20..], weightsHash);
        h.Append(b);
        return h.GetCurrentHashAsUInt64();
    }

    // Reads the parameters and buffers only, so it needs no lock against concurrent predictions.
    private byte[] SaveWeights() => WeightArchive.Save(_network);

    /// <summary>Called by ML.NET (through the loader in MLNetInternals.cs) when a model .zip is loaded.</summary>
    internal static SetModelTransformer Load(IHostEnvironment env, SetMLModelReader r)
    {
        r.CheckVersion(ModelSignature, 0x00010001, 0x00010001, 0x00010001, LoaderSignature, typeof(SetModelTransformer));
        int format = r.Reader.ReadInt32();
        if (format > CurrentFormatVersion || format < 1)
            throw new SetMLModelFormatException(
                $"This SetML model was written in SetML model format version {format}, but this SetML reads versions 1 to {CurrentFormatVersion}. " +
                "Update the SetML packages to load it (or retrain the model with this version).");
        string json = r.Reader.ReadString();
        int deviceCode = r.Reader.ReadInt32();
        int batch = r.Reader.ReadInt32();
        int weightsVersion = format >= 2 ? r.Reader.ReadInt32() : 1;
        long length = r.Reader.ReadInt64();
        ulong hash = r.Reader.ReadUInt64();
        if (format >= 2 && r.Reader.ReadUInt64() != HeaderHash(json, deviceCode, batch, weightsVersion, length, hash))
            throw new SetMLModelFormatException("The SetML model header is corrupted: its checksum does not match (the specification, device, batch size or weights length were altered).");
        if (weightsVersion < 1 || weightsVersion > CurrentWeightsFormatVersion)
            throw new SetMLModelFormatException($"The SetML weights were written in weights format version {weightsVersion}, but this SetML reads versions 1 to {CurrentWeightsFormatVersion}. Update the SetML packages to load this model.");
        if (!Enum.IsDefined((SetDevice)deviceCode))
            throw new SetMLModelFormatException($"The SetML model header names device {deviceCode}, which is not a SetDevice value.");
        if (batch < 1)
            throw new SetMLModelFormatException($"The SetML model header has prediction batch size {batch}; it must be at least 1.");
        if (length < 0 || length > MaxWeightsBytes)
            throw new SetMLModelFormatException($"The SetML model header declares {length} bytes of weights; at most {MaxWeightsBytes} are accepted.");

        ModelSpec spec;
        try
        {
            spec = SpecJson.Deserialize<ModelSpec>(format == 1 ? ModelFormatMigrations.SpecV1ToV2(json) : System.Text.Json.Nodes.JsonNode.Parse(json));
            foreach (var input in spec.Inputs) input.Normalization?.Validate(input.ElementDimension, input.ColumnName);
            // Label statistics must have one mean and scale per value they map back (a score, a predicted element, an element's outputs).
            switch (spec)
            {
                case EncoderModelSpec { LabelNormalization: { } ln }: ln.Validate(1, "label"); break;
                case SetPredictionModelSpec { LabelNormalization: { } ln } p: ln.Validate(p.ElementDimension, "label"); break;
                case SetToSetModelSpec { LabelNormalization: { } ln } s: ln.Validate(s.OutputSize, "label"); break;
            }
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or InvalidDataException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new SetMLModelFormatException("The SetML model specification in the model file is unreadable: " + e.Message, e);
        }

        byte[]? weights = null;
        if (!r.TryLoadBinaryStream(WeightsStreamName, br => weights = ReadExactly(br, length)))
            throw new SetMLModelFormatException($"The model file has no '{WeightsStreamName}' entry: the SetML weights are missing.");
        if (XxHash64.HashToUInt64(weights!) != hash)
            throw new SetMLModelFormatException("The SetML weights are corrupted: their checksum does not match the one stored in the model file.");

        nn.Module network;
        try
        {
            lock (TorchRuntime.InitializationLock) network = spec.CreateNetwork();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or IndexOutOfRangeException or OverflowException or NullReferenceException)
        {
            throw new SetMLModelFormatException($"The SetML model specification describes a network that cannot be built: {e.Message}", e);
        }
        try
        {
            WeightArchive.Load(weights!, network);
        }
        catch (SetMLWeightsException e)
        {
            network.Dispose();
            throw new SetMLModelFormatException("The SetML weights do not match the model specification: " + e.Message, e);
        }
        // A model trained with SetDevice.Cuda predicts on the GPU where CUDA is available and on the CPU elsewhere;
        // SetDevice.Auto follows the loading MLContext's GpuDeviceId/FallbackToCpu.
        var device = (SetDevice)deviceCode;
        if (device == SetDevice.Cuda && !torch.cuda.is_available()) device = SetDevice.Cpu;
        return new SetModelTransformer(env, spec, network, device, batch);
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes, checking the entry's size before allocating when the stream knows it.</summary>
    private static byte[] ReadExactly(BinaryReader br, long length)
    {
        var s = br.BaseStream;
        if (s.CanSeek)
        {
            long available = s.Length - s.Position;
            if (available < length)
                throw new SetMLModelFormatException($"The SetML weights are truncated: expected {length} bytes, found {available}.");
            if (available > length)
                throw new SetMLModelFormatException($"The SetML weights entry has {available} bytes, more than the {length} the model header declares.");
        }
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        while (buffer.Length < length)
        {
            int n = s.Read(chunk, 0, (int)Math.Min(chunk.Length, length - buffer.Length));
            if (n == 0) throw new SetMLModelFormatException($"The SetML weights are truncated: expected {length} bytes, found {buffer.Length}.");
            buffer.Write(chunk, 0, n);
        }
        if (s.CanSeek ? s.Position != s.Length : s.Read(chunk, 0, 1) != 0)
            throw new SetMLModelFormatException($"The SetML weights entry is longer than the {length} bytes the model header declares.");
        return buffer.ToArray();
    }

    /// <summary>Releases the network's native memory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _network.Dispose();
    }
}

/// <summary>A SetML model file is corrupted, truncated, or written by a newer SetML format.</summary>
public sealed class SetMLModelFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public SetMLModelFormatException(string message, Exception? inner = null) : base(message, inner) { }
}
