using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace SetML.Tests.Foundation;

/// <summary>
/// Entry point of SetML.Tests.dll when run as a program (the test host never calls it). Used by
/// <see cref="PersistenceTests"/> to load a saved model in a separate process, as a user's application would:
/// <c>dotnet SetML.Tests.dll predict-model MODEL.zip INPUT.json OUTPUT.json</c>; and by <see cref="Reliability.HugeSetTests"/>
/// and <see cref="Reliability.GcStressTests"/> for cases that could crash the process:
/// <c>dotnet SetML.Tests.dll huge-set OUTPUT.json</c>, <c>dotnet SetML.Tests.dll gc-stress STEPS OUTPUT.json</c>, <c>dotnet SetML.Tests.dll soak OUTPUT.json</c>;
/// and by <see cref="DispatchStubCacheTests"/>: <c>dotnet SetML.Tests.dll torch-first OUTPUT.txt</c> (TorchSharp used before SetML).
/// INPUT.json: array of point sets (float arrays). OUTPUT.json: { "transform": [bits], "engine": [bits] } with the
/// Score of each row through Transform and through PredictionEngine, as the raw int bits of the float.
/// <c>dotnet SetML.Tests.dll make-golden DIR</c> writes the golden model files (<see cref="SetML.Samples.Reliability.GoldenModels"/>);
/// <c>make-format-manifest FILE</c>, <c>make-public-api FILE</c> and <c>api-reference FILE</c> write the saved-names manifest,
/// the public-API baseline and docs/api.md.
/// </summary>
public static class ModelCheckProgram
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "torch-first") return TorchFirstProgram.Run(args[1]);
        if (args.Length == 2 && args[0] == "make-golden")
        {
            SetML.Samples.Reliability.GoldenModels.Generate(args[1], Console.Out);
            return 0;
        }
        if (args.Length == 2 && args[0] == "make-format-manifest")
        {
            File.WriteAllText(args[1], SetML.Tests.Golden.FormatManifest.Build());
            return 0;
        }
        if (args.Length == 2 && args[0] == "api-reference")
        {
            Api.ApiReference.Write(args[1], Console.Out);
            return 0;
        }
        if (args.Length == 2 && args[0] == "make-public-api")
        {
            File.WriteAllText(args[1], Api.PublicApiBaseline.Build());
            foreach (var (assembly, pub, nonPublic) in Api.PublicApiBaseline.Counts())
                Console.WriteLine($"{assembly}: {pub} public types, {nonPublic} non-public (top-level and nested, compiler-generated excluded)");
            return 0;
        }
        if (args.Length == 2 && args[0] == "huge-set") return Reliability.HugeSetProgram.Run(args[1]);
        if (args.Length == 2 && args[0] == "soak")
        {
            var readings = SetML.Samples.Reliability.Soak.Run(epochs: 3, predictions: 1600, every: 100, seed: 2, TextWriter.Null);
            File.WriteAllText(args[1], JsonSerializer.Serialize(readings));
            return 0;
        }
        if (args.Length == 3 && args[0] == "gc-stress") return Reliability.GcStressProgram.Run(int.Parse(args[1]), args[2]);
        if (args.Length != 4 || args[0] != "predict-model")
        {
            Console.Error.WriteLine("usage: dotnet SetML.Tests.dll predict-model MODEL.zip INPUT.json OUTPUT.json");
            Console.Error.WriteLine("       dotnet SetML.Tests.dll make-golden DIR     (writes the golden model files, see Golden/README.md)");
            Console.Error.WriteLine("       dotnet SetML.Tests.dll make-format-manifest FILE   (writes Golden/format-manifest.txt)");
            Console.Error.WriteLine("       dotnet SetML.Tests.dll make-public-api FILE        (writes Api/public-api.txt, the public-API baseline)");
            Console.Error.WriteLine("       dotnet SetML.Tests.dll api-reference FILE          (writes docs/api.md)");
            return 2;
        }
        var sets = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(args[2]))!;
        var ml = new MLContext(seed: 123);
        var model = ml.Model.Load(args[1], out _);
        var (transform, engine) = Predict(ml, model, sets);
        File.WriteAllText(args[3], JsonSerializer.Serialize(new Dictionary<string, int[]> { ["transform"] = transform, ["engine"] = engine }));
        return 0;
    }

    /// <summary>Scores through Transform and through a PredictionEngine, as float bit patterns.</summary>
    public static (int[] Transform, int[] Engine) Predict(MLContext ml, ITransformer model, float[][] sets)
    {
        var rows = sets.Select(s => new PointSetRow { Points = s }).ToList();
        var scores = model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float>("Score").ToArray();
        var engine = ml.Model.CreatePredictionEngine<PointSetRow, ScoreRow>(model);
        var engineScores = rows.Select(r => engine.Predict(r).Score).ToArray();
        return (scores.Select(BitConverter.SingleToInt32Bits).ToArray(), engineScores.Select(BitConverter.SingleToInt32Bits).ToArray());
    }
}

/// <summary>Prediction output row.</summary>
public sealed class ScoreRow
{
    public float Score { get; set; }
}

/// <summary>
/// An application that uses TorchSharp before SetML: libtorch has run when SetML's load-time adjustments come, so the
/// dispatch-stub fix must leave libtorch's code alone. Writes <c>TorchRuntime.DispatchStubCache</c> to the output file.
/// </summary>
internal static class TorchFirstProgram
{
    public static int Run(string output)
    {
        UseTorchSharp();
        File.WriteAllText(output, ReadSetMLState());
        return 0;
    }

    // Separate, never inlined: nothing of SetML is touched (or compiled) before TorchSharp has run an operation.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void UseTorchSharp()
    {
        using var x = TorchSharp.torch.ones(8);
        using var y = x.mul(x);
        _ = y.sum().item<float>();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static string ReadSetMLState() => SetML.Training.TorchRuntime.DispatchStubCache;
}
