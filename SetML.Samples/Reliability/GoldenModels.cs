using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Modules;
using SetML.Modules.SetPrediction;
using SetML.Trainers;
using SetML.Training;

namespace SetML.Samples.Reliability;

/// <summary>One input row of the golden models: every column any family reads or trains on.</summary>
public sealed class GoldenRow
{
    /// <summary>A set of 2-D points (n·2 values).</summary>
    public float[] Points { get; set; } = Array.Empty<float>();
    /// <summary>Features of the vector → set models.</summary>
    [VectorType(4)] public float[] Features { get; set; } = Array.Empty<float>();
    /// <summary>Regression label: max over points of x + y.</summary>
    public float Label { get; set; }
    /// <summary>Binary label: more than 3 points.</summary>
    public bool Flag { get; set; }
    /// <summary>Multiclass label: a size bucket.</summary>
    public string Category { get; set; } = "";
    /// <summary>Count label (Poisson): the number of points.</summary>
    public float Count { get; set; }
    /// <summary>Per-element regression target (set → set, d = 1): x − y of each point.</summary>
    public float[] ElementTargets { get; set; } = Array.Empty<float>();
    /// <summary>Per-element class (set → set, d = 1): 1 when x &gt; y.</summary>
    public float[] ElementClasses { get; set; } = Array.Empty<float>();
    /// <summary>Target set of the vector → set models: 1–3 points on a line given by <see cref="Features"/>.</summary>
    public float[] TargetSet { get; set; } = Array.Empty<float>();
}

/// <summary>
/// The golden model files: one tiny saved pipeline per SetML model family, with its predictions on fixed inputs, under
/// <c>SetML.Tests/Golden/v{format}/</c>. SetML.Tests' GoldenModelTests loads each in every test run and compares; the
/// <c>fuzz</c> sample and ModelFileFuzzTests corrupt them.
/// Regenerate (only when adding a family or a format version; never to "fix" a failing golden test) with
/// <c>dotnet SetML.Tests/bin/Release/net10.0/SetML.Tests.dll make-golden SetML.Tests/Golden/vN</c>.
/// </summary>
public static class GoldenModels
{
    /// <summary>Name of the shared input file in each golden folder.</summary>
    public const string InputsFile = "inputs.json";

    private static SetFeaturizerOptions F(SetEncoderOptions encoder) => new()
    {
        Epochs = 1, BatchSize = 8, Seed = 3, HeadHiddenSizes = new[] { 8 }, Encoder = encoder,
    };

    private static T Trainer<T>(SetEncoderOptions encoder) where T : SetModelOptions, new() => new()
    {
        Epochs = 1, BatchSize = 8, Seed = 4, HeadHiddenSizes = new[] { 8 }, Encoder = encoder,
    };

    private static DeepSetsOptions SmallDeepSets(PoolingKind pooling = PoolingKind.Sum) => new()
    {
        PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4, Pooling = pooling,
    };

    private static SetTransformerOptions SmallSetTransformer(bool induced, int seeds) => new()
    {
        UseInducedPoints = induced, InducingPoints = 3, Layers = 1, Width = 8, Heads = 2, Seeds = seeds, EmbeddingDimension = induced ? 0 : 4,
    };

    private static SetPredictionOptions P(SetDecoderOptions decoder, bool vectorInput) => new()
    {
        Epochs = 15, BatchSize = 8, Seed = 5, LearningRate = 1e-2, Decoder = decoder,
        InputEncoder = vectorInput ? new MlpInputEncoderOptions { HiddenSizes = new[] { 8 } } : null,
    };

    /// <summary>Every family: a name (the file name) and the pipeline that makes it.</summary>
    public static IReadOnlyList<(string Name, Func<MLContext, IEstimator<ITransformer>> Make)> Families { get; } = new (string, Func<MLContext, IEstimator<ITransformer>>)[]
    {
        // set → vector featurizers, one per encoder
        ("featurizer-deepsets-sum", ml => ml.Transforms.DeepSets("Embedding", "Points", 2, "Label", F(SmallDeepSets(PoolingKind.Sum)))),
        ("featurizer-deepsets-mean", ml => ml.Transforms.DeepSets("Embedding", "Points", 2, "Label", F(SmallDeepSets(PoolingKind.Mean)))),
        ("featurizer-deepsets-max", ml => ml.Transforms.DeepSets("Embedding", "Points", 2, "Label", F(SmallDeepSets(PoolingKind.Max)))),
        ("featurizer-deepsets-min", ml => ml.Transforms.DeepSets("Embedding", "Points", 2, "Label", F(SmallDeepSets(PoolingKind.Min)))),
        ("featurizer-equivariant-deepsets", ml => ml.Transforms.EquivariantDeepSets("Embedding", "Points", 2, "Label", F(new EquivariantDeepSetsOptions
            { LayerSizes = new[] { 8, 8 }, LayerPooling = PoolingKind.Max, Pooling = PoolingKind.Mean, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }))),
        ("featurizer-set-transformer-sab-pma", ml => ml.Transforms.SetTransformer("Embedding", "Points", 2, "Label", F(SmallSetTransformer(false, 1)))),
        ("featurizer-set-transformer-isab-pma", ml => ml.Transforms.SetTransformer("Embedding", "Points", 2, "Label", F(SmallSetTransformer(true, 2)))),
        ("featurizer-slot-set-encoder", ml => ml.Transforms.SlotSetEncoder("Embedding", "Points", 2, "Label", F(new SlotSetEncoderOptions
            { PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = 8, SlotCounts = new[] { 3 }, SlotDimension = 4, AttentionDimension = 4, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }))),
        ("featurizer-slot-set-encoder-hierarchical", ml => ml.Transforms.SlotSetEncoder("Embedding", "Points", 2, "Label", F(new SlotSetEncoderOptions
            { PhiHiddenSizes = new[] { 8 }, PhiOutputDimension = 8, SlotCounts = new[] { 4, 2 }, SlotDimension = 4, AttentionDimension = 4, SlotInitialization = SlotInitialization.Deterministic, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }))),
        ("featurizer-fspool", ml => ml.Transforms.FSPool("Embedding", "Points", 2, "Label", F(new FSPoolOptions
            { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, Pieces = 5, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }))),
        ("featurizer-janossy-kary", ml => ml.Transforms.Janossy("Embedding", "Points", 2, "Label", F(new JanossyOptions
            { Mode = JanossyMode.KAry, TupleSize = 2, PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }))),
        ("featurizer-janossy-pisgd", ml => ml.Transforms.Janossy("Embedding", "Points", 2, "Label", F(new JanossyOptions
            { Mode = JanossyMode.PiSgd, PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, InferencePermutations = 3, PermutationSeed = 2, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }))),
        ("featurizer-relation-network", ml => ml.Transforms.RelationNetwork("Embedding", "Points", 2, "Label", F(new RelationNetworkOptions
            { GHiddenSizes = new[] { 8 }, LatentDimension = 8, FHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }))),
        ("featurizer-attention-pooling", ml => ml.Transforms.AttentionPooling("Embedding", "Points", 2, "Label", F(new AttentionPoolingOptions
            { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, AttentionDimension = 4, RhoHiddenSizes = new[] { 8 }, EmbeddingDimension = 4 }))),
        ("featurizer-relaxed-deepsets", ml => ml.Transforms.SetEncoder("Embedding", "Points", 2, "Label", F(new RelaxedDeepSetsOptions
            { HiddenSizes = new[] { 8 }, EmbeddingDimension = 4, Slots = 6 }))),
        // a SetML featurizer inside an ML.NET pipeline, in front of an ML.NET trainer
        ("pipeline-deepsets-sdca", ml => ml.Transforms.CopyColumns("PointsCopy", "Points")
            .Append(ml.Transforms.DeepSets("Embedding", "PointsCopy", 2, "Label", F(SmallDeepSets(PoolingKind.Max))))
            .Append(ml.Regression.Trainers.Sdca("Label", "Embedding", maximumNumberOfIterations: 5))),
        // trainers, one per task
        ("trainer-regression", ml => ml.Regression.Trainers.SetRegression("Label", "Points", 2, Trainer<SetRegressionOptions>(SmallDeepSets()))),
        ("trainer-regression-set-transformer", ml => ml.Regression.Trainers.SetTransformer("Label", "Points", 2, Trainer<SetRegressionOptions>(SmallSetTransformer(false, 1)))),
        ("trainer-binary", ml => ml.BinaryClassification.Trainers.SetClassification("Flag", "Points", 2, Trainer<SetModelOptions>(SmallDeepSets(PoolingKind.Mean)))),
        ("trainer-multiclass", ml => ml.Transforms.Conversion.MapValueToKey("CategoryKey", "Category")
            .Append(ml.MulticlassClassification.Trainers.SetClassification("CategoryKey", "Points", 2, Trainer<SetModelOptions>(SmallDeepSets(PoolingKind.Max))))),
        ("trainer-poisson", ml => ml.Regression.Trainers.SetPoissonRegression("Count", "Points", 2, Trainer<SetModelOptions>(SmallDeepSets()))),
        // vector → set and set → set prediction
        ("set-prediction-dspn-autoencoder", ml => ml.SetPrediction().Trainers.Dspn("Points", "Points", 2,
            P(new DspnOptions { LatentDimension = 8, EncoderHiddenSizes = new[] { 8 }, InnerSteps = 2, InnerLearningRate = 10 }, vectorInput: false))),
        ("set-prediction-dspn", ml => ml.SetPrediction().Trainers.Dspn("TargetSet", "Features", 2,
            P(new DspnOptions { LatentDimension = 8, EncoderHiddenSizes = new[] { 8 }, InnerSteps = 2, InnerLearningRate = 10 }, vectorInput: true))),
        ("set-prediction-transformer", ml => ml.SetPrediction().Trainers.TransformerSetPredictor("TargetSet", "Features", 2,
            P(new TransformerSetPredictorOptions { LatentDimension = 8, ModelDimension = 8, Heads = 2, Layers = 1, MemoryTokens = 2 }, vectorInput: true))),
        ("set-prediction-mlp", ml => ml.SetPrediction().Trainers.Mlp("TargetSet", "Features", 2,
            P(new MlpSetDecoderOptions { LatentDimension = 8, HiddenSizes = new[] { 8 } }, vectorInput: true))),
        ("set-to-set-regression", ml => ml.Regression.Trainers.SetToSetRegression("ElementTargets", "Points", 2, 1, new SetToSetOptions
            { Epochs = 1, BatchSize = 8, Seed = 6, Layers = new SetTransformerOptions { Width = 8, Heads = 2, Layers = 1 } })),
        ("set-to-set-classification", ml => ml.MulticlassClassification.Trainers.SetToSetClassification("ElementClasses", "Points", 2, 2, new SetToSetOptions
            { Epochs = 1, BatchSize = 8, Seed = 6, Layers = new SetTransformerOptions { Width = 8, Heads = 2, Layers = 1, UseInducedPoints = true, InducingPoints = 2 } })),
        ("clustering-amortized-mixture", ml => ml.Clustering.Trainers.AmortizedMixture("Points", 2, new AmortizedMixtureOptions
            { Components = 2, Epochs = 1, BatchSize = 8, Seed = 7, Encoder = new SetTransformerOptions { UseInducedPoints = true, InducingPoints = 2, Width = 8, Heads = 2, Seeds = 2, Layers = 1 } })),
        // the non-learned featurizer
        ("set-pooling", ml => ml.Transforms.SetPooling("Pooled", "Points", 2, SetPoolingKind.Sum, SetPoolingKind.Mean, SetPoolingKind.Max, SetPoolingKind.Min, SetPoolingKind.Count)),
    };

    /// <summary>Deterministic rows: 1–6 points in [0, 1]², every label column filled.</summary>
    public static List<GoldenRow> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<GoldenRow>(count);
        for (int i = 0; i < count; i++)
        {
            int n = rng.Next(1, 7);
            var p = new float[n * 2];
            for (int j = 0; j < p.Length; j++) p[j] = MathF.Round((float)rng.NextDouble(), 4);
            float a = MathF.Round((float)rng.NextDouble(), 4), b = MathF.Round((float)rng.NextDouble(), 4), c = MathF.Round((float)rng.NextDouble() * 0.3f, 4);
            int k = rng.Next(1, 4);
            rows.Add(new GoldenRow
            {
                Points = p,
                Features = new[] { a, b, c, k / 4f },
                Label = Enumerable.Range(0, n).Max(e => p[2 * e] + p[2 * e + 1]),
                Flag = n > 3,
                Category = n <= 2 ? "small" : n <= 4 ? "medium" : "large",
                Count = n,
                ElementTargets = Enumerable.Range(0, n).Select(e => p[2 * e] - p[2 * e + 1]).ToArray(),
                ElementClasses = Enumerable.Range(0, n).Select(e => p[2 * e] > p[2 * e + 1] ? 1f : 0f).ToArray(),
                TargetSet = Enumerable.Range(0, k).SelectMany(e => new[] { a + e * c, b - e * c }).ToArray(),
            });
        }
        return rows;
    }

    /// <summary>
    /// The columns a model adds, read row by row as numbers: Single → [v], Boolean → [0|1], key → [k], vectors → values.
    /// Columns are those of the output schema that the input schema does not have, in schema order.
    /// </summary>
    public static SortedDictionary<string, float[][]> ReadOutputs(MLContext ml, ITransformer model, IReadOnlyList<GoldenRow> rows)
    {
        var input = ml.Data.LoadFromEnumerable(rows);
        var output = model.Transform(input);
        var result = new SortedDictionary<string, float[][]>(StringComparer.Ordinal);
        foreach (var col in output.Schema)
        {
            if (col.IsHidden || input.Schema.GetColumnOrNull(col.Name) != null) continue;
            result[col.Name] = col.Type switch
            {
                NumberDataViewType n when n.RawType == typeof(float) => output.GetColumn<float>(col).Select(v => new[] { v }).ToArray(),
                BooleanDataViewType => output.GetColumn<bool>(col).Select(v => new[] { v ? 1f : 0f }).ToArray(),
                KeyDataViewType k when k.RawType == typeof(uint) => output.GetColumn<uint>(col).Select(v => new[] { (float)v }).ToArray(),
                VectorDataViewType v when v.ItemType == NumberDataViewType.Single => output.GetColumn<float[]>(col).ToArray(),
                _ => throw new NotSupportedException($"Golden outputs: column '{col.Name}' has type {col.Type}, which the golden reader does not compare."),
            };
        }
        return result;
    }

    /// <summary>The prediction inputs stored with the golden files (distinct from the training rows).</summary>
    public static List<GoldenRow> PredictionInputs() => Rows(12, 1234);

    /// <summary>
    /// Trains every family on fixed rows, saves <c>NAME.zip</c> and <c>NAME.predictions.json</c> into
    /// <paramref name="directory"/>, and <see cref="InputsFile"/> (the prediction inputs). Returns the names written.
    /// </summary>
    public static IReadOnlyList<string> Generate(string directory, TextWriter log)
    {
        Directory.CreateDirectory(directory);
        var inputs = PredictionInputs();
        File.WriteAllText(Path.Combine(directory, InputsFile), JsonSerializer.Serialize(inputs, Json));
        var names = new List<string>();
        foreach (var (name, make) in Families)
        {
            var ml = new MLContext(seed: 11);
            var train = ml.Data.LoadFromEnumerable(Rows(24, 99));
            var model = make(ml).Fit(train);
            string zip = Path.Combine(directory, name + ".zip");
            ml.Model.Save(model, train.Schema, zip);
            // The stored predictions are those of the model as loaded back (what every later load must reproduce).
            var loaded = new MLContext(seed: 12).Model.Load(zip, out _);
            var outputs = ReadOutputs(ml, loaded, inputs);
            File.WriteAllText(Path.Combine(directory, name + ".predictions.json"), JsonSerializer.Serialize(outputs, Json));
            log.WriteLine($"{name}: {new FileInfo(zip).Length} bytes, columns {string.Join(", ", outputs.Keys)}");
            names.Add(name);
        }
        return names;
    }

    /// <summary>Reads a predictions file.</summary>
    public static SortedDictionary<string, float[][]> ReadPredictions(string path)
        => JsonSerializer.Deserialize<SortedDictionary<string, float[][]>>(File.ReadAllText(path), Json)!;

    /// <summary>Reads the inputs file of a golden folder.</summary>
    public static List<GoldenRow> ReadInputs(string directory)
        => JsonSerializer.Deserialize<List<GoldenRow>>(File.ReadAllText(Path.Combine(directory, InputsFile)), Json)!;

    /// <summary>Compares stored and fresh outputs; returns the value count, the bitwise-equal count and the first difference (or null).</summary>
    public static (int Values, int Bitwise, string? Difference) Compare(SortedDictionary<string, float[][]> expected, SortedDictionary<string, float[][]> actual)
    {
        int values = 0, bitwise = 0;
        if (!expected.Keys.SequenceEqual(actual.Keys))
            return (0, 0, $"columns [{string.Join(", ", actual.Keys)}], expected [{string.Join(", ", expected.Keys)}]");
        foreach (var (col, rows) in expected)
        {
            var got = actual[col];
            if (got.Length != rows.Length) return (values, bitwise, $"column {col}: {got.Length} rows, expected {rows.Length}");
            for (int r = 0; r < rows.Length; r++)
            {
                if (got[r].Length != rows[r].Length) return (values, bitwise, $"column {col}, row {r}: {got[r].Length} values, expected {rows[r].Length}");
                for (int j = 0; j < rows[r].Length; j++)
                {
                    values++;
                    float e = rows[r][j], a = got[r][j];
                    if (BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(a)) { bitwise++; continue; }
                    if (!(Math.Abs(e - a) <= 1e-6 * Math.Max(1, Math.Abs(e))))
                        return (values, bitwise, $"column {col}, row {r}, value {j}: {a:R}, expected {e:R}");
                }
            }
        }
        return (values, bitwise, null);
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
}
