using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Microsoft.ML;
using SetML.Transforms;

namespace SetML.Samples.Reliability;

/// <summary>What loading one corrupted model file did.</summary>
public enum FuzzOutcome
{
    /// <summary>Loaded, and predicted exactly what the golden file predicts (the change did not matter, e.g. a duplicated entry).</summary>
    LoadedIdentical,
    /// <summary>
    /// Loaded a spec edited with valid checksums (a different, valid model): only for <see cref="ModelFileFuzzer.SpecEditRehashed"/>,
    /// and for <see cref="ModelFileFuzzer.FlipSpec"/> and <see cref="ModelFileFuzzer.EntryDuplicated"/> on format-1 files
    /// (which had no checksum over the spec).
    /// </summary>
    LoadedEditedSpec,
    /// <summary>Refused by SetML with a <see cref="SetMLModelFormatException"/> (message says what is wrong).</summary>
    RejectedBySetML,
    /// <summary>Refused by ML.NET or System.IO.Compression with a managed exception that names the problem (the zip itself is broken).</summary>
    RejectedByContainer,
    /// <summary>FAILURE: loaded, but predicts something else (silent garbage).</summary>
    SilentDifference,
    /// <summary>FAILURE: threw an exception that does not explain the problem (NullReference, IndexOutOfRange, …) or failed only at prediction.</summary>
    UnclearError,
    /// <summary>FAILURE: did not finish within the time limit.</summary>
    Hang,
}

/// <summary>The outcome of one variant.</summary>
/// <param name="Kind">The variant kind (one of <see cref="ModelFileFuzzer.Kinds"/>).</param>
/// <param name="Source">The golden file it was made from.</param>
/// <param name="Outcome">What loading it did.</param>
/// <param name="Detail">The exception type and message, or the difference.</param>
/// <param name="Elapsed">Load + prediction time.</param>
public sealed record FuzzResult(string Kind, string Source, FuzzOutcome Outcome, string? Detail, TimeSpan Elapsed)
{
    /// <summary>Whether the outcome is one of the failures (silent difference, unclear error, hang).</summary>
    public bool IsFailure => Outcome is FuzzOutcome.SilentDifference or FuzzOutcome.UnclearError or FuzzOutcome.Hang;
}

/// <summary>
/// Model-file fuzzing: variants of the golden model files (byte flips anywhere, in the weights, in the spec JSON; spec
/// edits with valid checksums; truncations; entries removed, duplicated or swapped; zip-bomb-sized entry headers;
/// foreign files; a newer format version), each loaded and checked: it must load and predict identically, or throw
/// a managed exception that says what is wrong — never crash the process, hang, or predict something else.
/// Used by SetML.Tests' ModelFileFuzzTests (a few hundred variants) and the <c>fuzz</c> sample (thousands).
/// </summary>
public static class ModelFileFuzzer
{
    /// <summary>1–4 random bit flips anywhere in the .zip bytes.</summary>
    public const string FlipAnywhere = "flip-anywhere";
    /// <summary>1–4 random byte changes inside the weights entry (zip rewritten with valid CRCs).</summary>
    public const string FlipWeights = "flip-weights";
    /// <summary>1–3 random byte changes inside the spec JSON of the model stream (zip rewritten with valid CRCs).</summary>
    public const string FlipSpec = "flip-spec";
    /// <summary>A random byte change in the spec JSON, written with valid checksums (an edited or foreign spec).</summary>
    public const string SpecEditRehashed = "spec-edit-rehashed";
    /// <summary>The file cut at a random offset.</summary>
    public const string Truncate = "truncate";
    /// <summary>One entry removed.</summary>
    public const string EntryRemoved = "entry-removed";
    /// <summary>One entry stored twice under the same name (the copy with changed bytes).</summary>
    public const string EntryDuplicated = "entry-duplicated";
    /// <summary>The weights entry of another golden file.</summary>
    public const string WeightsSwapped = "weights-swapped";
    /// <summary>An entry's declared uncompressed size (local header and central directory) set to ~4 GB.</summary>
    public const string ZipBombHeader = "zip-bomb-header";
    /// <summary>Not a SetML model: random bytes, an empty file, or a zip of unrelated files.</summary>
    public const string Foreign = "foreign-file";
    /// <summary>Saved by a (simulated) newer SetML format version.</summary>
    public const string FutureVersion = "future-version";

    /// <summary>Every variant kind, in the order variants cycle through them.</summary>
    public static IReadOnlyList<string> Kinds { get; } = new[]
    {
        FlipAnywhere, FlipWeights, FlipSpec, SpecEditRehashed, Truncate, EntryRemoved, EntryDuplicated, WeightsSwapped, ZipBombHeader, Foreign, FutureVersion,
    };

    /// <summary>
    /// Makes and loads <paramref name="variantsPerFile"/> variants of every golden file of <paramref name="goldenFolder"/>
    /// (cycling through <see cref="Kinds"/>), seeded by <paramref name="seed"/>. <paramref name="timeout"/> is the hang limit per load.
    /// </summary>
    public static List<FuzzResult> Run(string goldenFolder, int variantsPerFile, int seed, TimeSpan timeout, Action<FuzzResult>? onResult = null)
    {
        var inputs = GoldenModels.ReadInputs(goldenFolder);
        // Format 1 had no checksum over the spec: a model stream changed inside a valid zip entry (flip-spec, or a changed
        // duplicate that ML.NET reads instead of the original) is, for it, an edit like spec-edit-rehashed. A byte flip
        // in the file itself is still caught by the zip's CRC (flip-anywhere). Format 2 checksums the header.
        bool specChecksummed = !string.Equals(Path.GetFileName(Path.TrimEndingDirectorySeparator(goldenFolder)), "v1", StringComparison.Ordinal);
        var files = Directory.GetFiles(goldenFolder, "*.zip").Order(StringComparer.Ordinal).ToArray();
        var rng = new Random(seed);
        var results = new List<FuzzResult>();
        int kind = 0;
        foreach (var file in files)
        {
            var original = File.ReadAllBytes(file);
            var expected = GoldenModels.ReadPredictions(Path.ChangeExtension(file, null) + ".predictions.json");
            for (int v = 0; v < variantsPerFile; v++, kind++)
            {
                string k = Kinds[kind % Kinds.Count];
                var other = files[rng.Next(files.Length)];
                byte[] bytes = Make(k, original, File.ReadAllBytes(other), rng);
                var result = Load(k, Path.GetFileName(file), bytes, inputs, expected, timeout, editedSpec: k == SpecEditRehashed || (k is FlipSpec or EntryDuplicated && !specChecksummed));
                results.Add(result);
                onResult?.Invoke(result);
            }
        }
        return results;
    }

    /// <summary>Makes one variant of kind <paramref name="kind"/> from a golden file (and another golden file for swaps).</summary>
    public static byte[] Make(string kind, byte[] zip, byte[] otherZip, Random rng)
    {
        switch (kind)
        {
            case FlipAnywhere:
            {
                var b = (byte[])zip.Clone();
                for (int i = rng.Next(1, 5); i > 0; i--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            }
            case FlipWeights:
                return Rewrite(zip, (name, data) => name.EndsWith("SetMLWeights.bin", StringComparison.Ordinal) ? Flip(data, 0, data.Length, rng.Next(1, 5), rng) : data);
            case FlipSpec:
                return Rewrite(zip, (name, data) =>
                {
                    var (start, length) = SpecRange(data);
                    return length > 0 ? Flip(data, start, length, rng.Next(1, 4), rng) : data;
                });
            case SpecEditRehashed:
                return Resave(zip, json =>
                {
                    var b = Encoding.UTF8.GetBytes(json);
                    int i = rng.Next(b.Length);
                    b[i] ^= (byte)(1 << rng.Next(7));
                    return Encoding.UTF8.GetString(b);
                });
            case Truncate:
                return zip.AsSpan(0, rng.Next(zip.Length)).ToArray();
            case EntryRemoved:
            {
                var entries = ReadEntries(zip);
                entries.RemoveAt(rng.Next(entries.Count));
                return WriteEntries(entries);
            }
            case EntryDuplicated:
            {
                var entries = ReadEntries(zip);
                int i = rng.Next(entries.Count);
                var copy = (byte[])entries[i].Data.Clone();
                if (copy.Length > 0) copy[rng.Next(copy.Length)] ^= 0xFF;
                entries.Insert(rng.Next(entries.Count + 1), (entries[i].Name, copy));
                return WriteEntries(entries);
            }
            case WeightsSwapped:
            {
                var foreignWeights = ReadEntries(otherZip).FirstOrDefault(e => e.Name.EndsWith("SetMLWeights.bin", StringComparison.Ordinal)).Data;
                return foreignWeights == null ? zip : Rewrite(zip, (name, data) => name.EndsWith("SetMLWeights.bin", StringComparison.Ordinal) ? foreignWeights : data);
            }
            case ZipBombHeader:
                return BombHeader(zip, rng);
            case Foreign:
                switch (rng.Next(3))
                {
                    case 0: { var b = new byte[rng.Next(0, 4096)]; rng.NextBytes(b); return b; }
                    case 1: return Array.Empty<byte>();
                    default: return WriteEntries(new List<(string, byte[])> { ("readme.txt", Encoding.UTF8.GetBytes("not a model")), ("TransformerChain/Model.key", RandomBytes(rng, 200)) });
                }
            case FutureVersion:
                SetModelTransformer.FormatVersionForWriting = SetModelTransformer.CurrentFormatVersion + 1 + rng.Next(3);
                try { return Resave(zip, json => json); }
                finally { SetModelTransformer.FormatVersionForWriting = SetModelTransformer.CurrentFormatVersion; }
            default:
                throw new ArgumentException($"Unknown variant kind '{kind}'.", nameof(kind));
        }
    }

    /// <summary>
    /// Loads a variant and classifies the outcome (see <see cref="FuzzOutcome"/>). <paramref name="editedSpec"/>: the
    /// variant is a spec edit no checksum covers, so a load that predicts differently is a different model, not garbage.
    /// </summary>
    public static FuzzResult Load(string kind, string source, byte[] bytes, IReadOnlyList<GoldenRow> inputs,
        SortedDictionary<string, float[][]> expected, TimeSpan timeout, bool editedSpec)
    {
        var watch = Stopwatch.StartNew();
        var task = Task.Run(() =>
        {
            var ml = new MLContext(seed: 1);
            ITransformer model;
            try { model = ml.Model.Load(new MemoryStream(bytes, writable: false), out _); }
            catch (Exception e) { return Classify(e); }
            try
            {
                var actual = GoldenModels.ReadOutputs(ml, model, inputs);
                var (_, _, diff) = GoldenModels.Compare(expected, actual);
                if (diff == null) return (FuzzOutcome.LoadedIdentical, (string?)null);
                return editedSpec ? (FuzzOutcome.LoadedEditedSpec, diff) : (FuzzOutcome.SilentDifference, diff);
            }
            catch (Exception e)
            {
                // An edited (valid-checksum) spec may rename an output column or change a rule the inputs then break:
                // a clear SetML error at prediction is the right answer for it. For anything else, failing after a
                // successful load means the load accepted a broken file.
                if (editedSpec && e is SetColumns.SetColumnException or ArgumentOutOfRangeException { ParamName: "name" })
                    return (FuzzOutcome.LoadedEditedSpec, $"at prediction: {e.GetType().Name}: {e.Message}");
                return (FuzzOutcome.UnclearError, $"load succeeded, prediction failed: {e.GetType().Name}: {e.Message}");
            }
            finally { (model as IDisposable)?.Dispose(); }
        });
        if (!task.Wait(timeout)) return new FuzzResult(kind, source, FuzzOutcome.Hang, $"no answer within {timeout.TotalSeconds:0} s", watch.Elapsed);
        var (outcome, detail) = task.Result;
        return new FuzzResult(kind, source, outcome, detail, watch.Elapsed);
    }

    private static (FuzzOutcome, string?) Classify(Exception e)
    {
        for (var x = e; x != null; x = x.InnerException)
            if (x is SetMLModelFormatException f) return (FuzzOutcome.RejectedBySetML, f.Message);
        // Exceptions that cannot explain a broken file to a user.
        bool unclear = false;
        for (var x = e; x != null; x = x.InnerException)
            if (x is NullReferenceException or IndexOutOfRangeException or AccessViolationException or DivideByZeroException or StackOverflowException
                || string.IsNullOrWhiteSpace(x.Message))
                unclear = true;
        string detail = $"{e.GetType().Name}: {e.Message}" + (e.InnerException != null ? $" → {e.InnerException.GetType().Name}: {e.InnerException.Message}" : "");
        return (unclear ? FuzzOutcome.UnclearError : FuzzOutcome.RejectedByContainer, detail);
    }

    private static byte[] Flip(byte[] data, int start, int length, int count, Random rng)
    {
        var b = (byte[])data.Clone();
        if (length == 0) return b;
        for (int i = 0; i < count; i++) b[start + rng.Next(length)] ^= (byte)rng.Next(1, 256);
        return b;
    }

    private static byte[] RandomBytes(Random rng, int n) { var b = new byte[n]; rng.NextBytes(b); return b; }

    /// <summary>Where the spec JSON lies inside a model stream: from <c>{"$type"</c> to its last <c>}</c> (0 length if absent).</summary>
    private static (int Start, int Length) SpecRange(byte[] data)
    {
        int start = data.AsSpan().IndexOf("{\"$type\""u8);
        if (start < 0) return (0, 0);
        int end = data.AsSpan().LastIndexOf((byte)'}');
        return end > start ? (start, end - start + 1) : (0, 0);
    }

    private static byte[] Rewrite(byte[] zip, Func<string, byte[], byte[]> change)
        => WriteEntries(ReadEntries(zip).Select(e => (e.Name, change(e.Name, e.Data))).ToList());

    private static List<(string Name, byte[] Data)> ReadEntries(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return archive.Entries.Select(e =>
        {
            using var s = e.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return (e.FullName, ms.ToArray());
        }).ToList();
    }

    private static byte[] WriteEntries(List<(string Name, byte[] Data)> entries)
    {
        var ms = new MemoryStream();
        using (var archive = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using var s = archive.CreateEntry(name, CompressionLevel.Fastest).Open();
                s.Write(data);
            }
        return ms.ToArray();
    }

    /// <summary>Loads a golden file and saves it again, with the spec JSON passed through <paramref name="rewrite"/> (valid checksums).</summary>
    private static byte[] Resave(byte[] zip, Func<string, string> rewrite)
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(new MemoryStream(zip, writable: false), out var schema);
        SetModelTransformer.SpecJsonRewriterForWriting = rewrite;
        try
        {
            var ms = new MemoryStream();
            ml.Model.Save(model, schema, ms);
            return ms.ToArray();
        }
        finally
        {
            SetModelTransformer.SpecJsonRewriterForWriting = null;
            (model as IDisposable)?.Dispose();
        }
    }

    /// <summary>Sets one entry's declared uncompressed size to ~4 GB in its local header and in the central directory.</summary>
    private static byte[] BombHeader(byte[] zip, Random rng)
    {
        var b = (byte[])zip.Clone();
        var central = new List<int>();
        for (int i = 0; i + 46 <= b.Length; i++)
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i)) == 0x02014b50) central.Add(i);
        if (central.Count == 0) return b;
        int c = central[rng.Next(central.Count)];
        uint huge = 0xFFFFFFF0u - (uint)rng.Next(1 << 20);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(c + 24), huge);                 // central directory: uncompressed size
        int local = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(c + 42));          // offset of the local header
        if (local >= 0 && local + 30 <= b.Length && BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(local)) == 0x04034b50)
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(local + 22), huge);           // local header: uncompressed size
        return b;
    }
}
