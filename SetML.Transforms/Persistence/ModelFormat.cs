// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
//  SetML's own model-file formats (no ML.NET types): the weights entry and the migration of older files.
//  See docs/architecture.md, "Persistence", and docs/reliability.md.
// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using SetML.Models;
using SetML.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Persistence;

/// <summary>Migration of model files written in older SetML model format versions.</summary>
internal static class ModelFormatMigrations
{
    /// <summary>
    /// Format version 1 → 2: the spec's <c>"$type"</c> was the C# class name; version 2 writes the stable
    /// <see cref="SpecTypeAttribute"/> name and a <c>"$version"</c> per component. Old name → stable name, for every
    /// component that existed in format version 1 (all at component version 1). Never edit an entry.
    /// Weights: the version-1 weight names are TorchSharp's state-dict keys (field names), which are the stable names
    /// of version 2 (old → new is the identity; a field renamed later keeps its old name through <see cref="WeightNameAttribute"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, string> V1TypeNames { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["EncoderModelSpec"] = "model.set-encoder",
        ["SetPredictionModelSpec"] = "model.set-prediction",
        ["SetToSetModelSpec"] = "model.set-to-set",
        ["AmortizedMixtureModelSpec"] = "model.amortized-mixture",
        ["SetPoolingModelSpec"] = "model.set-pooling",
        ["DeepSetsOptions"] = "encoder.deep-sets",
        ["SetTransformerOptions"] = "encoder.set-transformer",
        ["SlotSetEncoderOptions"] = "encoder.slot-set-encoder",
        ["FSPoolOptions"] = "encoder.fspool",
        ["JanossyOptions"] = "encoder.janossy",
        ["EquivariantDeepSetsOptions"] = "encoder.equivariant-deep-sets",
        ["RelationNetworkOptions"] = "encoder.relation-network",
        ["AttentionPoolingOptions"] = "encoder.attention-pooling",
        ["RelaxedDeepSetsOptions"] = "encoder.relaxed-deep-sets",
        ["DspnOptions"] = "decoder.dspn",
        ["TransformerSetPredictorOptions"] = "decoder.transformer-set-predictor",
        ["MlpSetDecoderOptions"] = "decoder.mlp",
        ["MlpInputEncoderOptions"] = "input.mlp",
        ["ConvInputEncoderOptions"] = "input.conv",
    };

    /// <summary>Rewrites a format-1 spec to the format-2 shape: stable type names, <c>"$version": 1</c> on each component.</summary>
    public static JsonNode? SpecV1ToV2(string json)
    {
        var node = JsonNode.Parse(json, documentOptions: new System.Text.Json.JsonDocumentOptions { MaxDepth = 64 });
        Rename(node);
        return node;

        static void Rename(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    if (o[SpecJson.TypeProperty] is JsonValue v && v.TryGetValue(out string? old))
                    {
                        if (!V1TypeNames.TryGetValue(old, out var stable))
                            throw new System.Text.Json.JsonException($"Unknown component type '{old}' in a format-1 model specification.");
                        o[SpecJson.TypeProperty] = stable;
                        o.Insert(1, SpecJson.VersionProperty, 1);
                    }
                    foreach (var (_, child) in o.ToList()) Rename(child);
                    break;
                case JsonArray a:
                    foreach (var child in a) Rename(child);
                    break;
            }
        }
    }
}

/// <summary>
/// The weights entry of a model file: a network's state (parameters and buffers) keyed by stable weight names.
/// </summary>
/// <remarks>
/// Layout (the state-dict layout of TorchSharp's <c>Module.save</c>, which format version 1 used, keyed by stable names;
/// integers are unsigned LEB128):
/// <code>
///   count                      number of tensors
///   count × { name           string: LEB128 byte length + UTF-8 (≤ 1,024 bytes), the stable weight name
///             dtype          TorchSharp ScalarType code (6 = Float32)
///             ndim           ≤ 8
///             ndim × size
///             data           ∏ size × element size bytes, little-endian, row-major }
/// </code>
/// <see cref="Load"/> reads the whole header first and checks it against the network the spec built — the same
/// names, dtypes and shapes, every length within the entry — before it copies a single value, so a corrupted or
/// foreign file can neither allocate by its own account nor half-load.
/// </remarks>
internal static class WeightArchive
{
    /// <summary>Longest accepted weight name, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 1024;

    /// <summary>Most dimensions accepted per tensor.</summary>
    public const int MaxDimensions = 8;

    /// <summary>The network's state tensors by stable name (see <see cref="WeightNameAttribute"/>), in state-dict order.</summary>
    public static List<(string Name, Tensor Tensor)> StableStateDict(nn.Module network)
    {
        var result = new List<(string, Tensor)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, tensor) in network.state_dict())
        {
            string name = StableName(network, key);
            if (!seen.Add(name))
                throw new InvalidOperationException($"Two weights of {network.GetType().Name} have the stable name '{name}'; fix the [WeightName] attributes.");
            result.Add((name, tensor));
        }
        return result;
    }

    /// <summary>The stable name of a state-dict key: each segment replaced by its field's <see cref="WeightNameAttribute"/>, if any.</summary>
    public static string StableName(nn.Module root, string key)
    {
        var parts = key.Split('.');
        nn.Module? module = root;
        for (int i = 0; i < parts.Length; i++)
        {
            if (module == null) break;
            var field = FindField(module.GetType(), parts[i]);
            var stable = field?.GetCustomAttribute<WeightNameAttribute>()?.Name;
            var child = i < parts.Length - 1 ? module.named_children().FirstOrDefault(c => c.name == parts[i]).module : null;
            if (stable != null) parts[i] = stable;
            module = child;
        }
        return string.Join('.', parts);
    }

    private static FieldInfo? FindField(Type? type, string name)
    {
        for (; type != null && type != typeof(object); type = type.BaseType)
        {
            var f = type.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);
            if (f != null) return f;
        }
        return null;
    }

    /// <summary>Writes the network's state (moved to the CPU) in the layout above.</summary>
    public static byte[] Save(nn.Module network)
    {
        using var scope = torch.NewDisposeScope();
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            var state = StableStateDict(network);
            WriteLeb(w, (ulong)state.Count);
            foreach (var (name, tensor) in state)
            {
                w.Write(name);
                WriteLeb(w, (ulong)(int)tensor.dtype);
                WriteLeb(w, (ulong)tensor.shape.Length);
                foreach (var s in tensor.shape) WriteLeb(w, (ulong)s);
                var cpu = tensor.detach().cpu().contiguous();
                w.Write(cpu.bytes);
            }
        }
        return ms.ToArray();
    }

    /// <summary>
    /// Checks <paramref name="blob"/> against the network's state (names, dtypes, shapes, lengths) and, only if all of it
    /// matches, copies the values in. Throws <see cref="SetMLWeightsException"/> naming the first mismatch.
    /// </summary>
    public static void Load(byte[] blob, nn.Module network)
    {
        var expected = StableStateDict(network).ToDictionary(e => e.Name, e => e.Tensor, StringComparer.Ordinal);
        var r = new Reader(blob);
        ulong count = r.Leb("the tensor count");
        if (count != (ulong)expected.Count)
            throw new SetMLWeightsException($"the weights hold {count} tensors, but the model specification's network has {expected.Count}");
        var plan = new List<(Tensor Target, int Offset, int Length)>(expected.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < count; i++)
        {
            string name = r.Name();
            if (!expected.TryGetValue(name, out var target))
                throw new SetMLWeightsException($"tensor {i} is named '{name}', which the model specification's network does not have (it has {string.Join(", ", expected.Keys.Take(8))}{(expected.Count > 8 ? ", …" : "")})");
            if (!seen.Add(name)) throw new SetMLWeightsException($"the weight '{name}' appears twice");
            ulong dtype = r.Leb($"the dtype of '{name}'");
            if (dtype != (ulong)(int)target.dtype)
                throw new SetMLWeightsException($"the weight '{name}' has dtype code {dtype}, but the network expects {target.dtype} ({(int)target.dtype})");
            ulong ndim = r.Leb($"the rank of '{name}'");
            if (ndim > MaxDimensions) throw new SetMLWeightsException($"the weight '{name}' declares {ndim} dimensions (at most {MaxDimensions} are accepted)");
            var shape = new long[ndim];
            for (ulong d = 0; d < ndim; d++)
            {
                ulong s = r.Leb($"dimension {d} of '{name}'");
                if (s > (ulong)blob.Length) throw new SetMLWeightsException($"dimension {d} of the weight '{name}' is {s}, larger than the whole weights entry");
                shape[d] = (long)s;
            }
            if (!shape.SequenceEqual(target.shape))
                throw new SetMLWeightsException($"the weight '{name}' has shape [{string.Join(", ", shape)}], but the model specification's network expects [{string.Join(", ", target.shape)}]");
            long bytes = target.numel() * target.ElementSize;
            plan.Add((target, r.Skip(bytes, name), (int)bytes));
        }
        if (!r.AtEnd) throw new SetMLWeightsException($"{blob.Length - r.Position} unexpected bytes follow the last tensor");
        using var noGrad = torch.no_grad();
        foreach (var (target, offset, length) in plan) target.bytes = blob.AsSpan(offset, length);
    }

    /// <summary>Writes an unsigned LEB128 integer.</summary>
    internal static void WriteLeb(BinaryWriter w, ulong v)
    {
        do
        {
            byte b = (byte)(v & 0x7F);
            v >>= 7;
            w.Write(v != 0 ? (byte)(b | 0x80) : b);
        } while (v != 0);
    }

    /// <summary>A bounds-checked reader over the weights blob.</summary>
    private sealed class Reader(byte[] blob)
    {
        public int Position { get; private set; }
        public bool AtEnd => Position == blob.Length;

        public ulong Leb(string what)
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (Position >= blob.Length) throw new SetMLWeightsException($"the weights end while reading {what}");
                if (shift > 63) throw new SetMLWeightsException($"{what} is not a valid number");
                byte b = blob[Position++];
                v |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return v;
            }
        }

        public string Name()
        {
            ulong length = Leb("a weight name's length");
            if (length == 0 || length > MaxNameBytes) throw new SetMLWeightsException($"a weight name is {length} bytes long (1 to {MaxNameBytes} are accepted)");
            if (length > (ulong)(blob.Length - Position)) throw new SetMLWeightsException("the weights end inside a weight name");
            try
            {
                var name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(blob, Position, (int)length);
                Position += (int)length;
                return name;
            }
            catch (DecoderFallbackException) { throw new SetMLWeightsException($"a weight name at byte {Position} is not valid UTF-8"); }
        }

        public int Skip(long bytes, string name)
        {
            if (bytes > blob.Length - Position)
                throw new SetMLWeightsException($"the weight '{name}' needs {bytes} bytes, but only {blob.Length - Position} remain in the weights entry");
            int start = Position;
            Position += (int)bytes;
            return start;
        }
    }
}

/// <summary>The weights entry does not match the model specification (thrown inside <see cref="WeightArchive.Load"/>).</summary>
internal sealed class SetMLWeightsException(string message) : Exception(message);
