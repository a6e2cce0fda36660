using Microsoft.ML;
using SetML.Samples.Reliability;

namespace SetML.Tests.Golden;

/// <summary>
/// Loads every committed golden model file (one per model family and per SetML format version, see
/// <c>SetML.Samples/Reliability/GoldenModels.cs</c>) and checks its predictions on the stored inputs against the stored predictions:
/// every value within 1e-6 (absolute, relative above 1); on the machine that wrote them they are bitwise equal.
/// </summary>
[TestClass]
public sealed class GoldenModelTests
{
    /// <summary>The folder with the golden files of format version <paramref name="version"/> (copied next to the test assembly).</summary>
    public static string Folder(int version) => Path.Combine(AppContext.BaseDirectory, "Golden", $"v{version}");

    /// <summary>The format versions that have golden files.</summary>
    public static int[] Versions => Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, "Golden"), "v*")
        .Select(d => int.Parse(Path.GetFileName(d)[1..])).Order().ToArray();

    [TestMethod]
    public void EveryFamilyHasAGoldenFileInTheOldestVersion()
    {
        var names = Directory.GetFiles(Folder(1), "*.zip").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        foreach (var (name, _) in GoldenModels.Families) Assert.Contains(name, names, $"no golden v1 file for family '{name}'");
    }

    [TestMethod]
    public void EveryGoldenFileLoadsAndPredictsAsStored()
    {
        int files = 0, values = 0, bitwise = 0;
        var failures = new List<string>();
        foreach (int version in Versions)
        {
            var inputs = GoldenModels.ReadInputs(Folder(version));
            foreach (var zip in Directory.GetFiles(Folder(version), "*.zip").Order(StringComparer.Ordinal))
            {
                string name = $"v{version}/{Path.GetFileNameWithoutExtension(zip)}";
                var expected = GoldenModels.ReadPredictions(Path.ChangeExtension(zip, null) + ".predictions.json");
                var ml = new MLContext(seed: 5);
                SortedDictionary<string, float[][]> actual;
                try
                {
                    var model = ml.Model.Load(zip, out _);
                    actual = GoldenModels.ReadOutputs(ml, model, inputs);
                    (model as IDisposable)?.Dispose();
                }
                catch (Exception e)
                {
                    failures.Add($"{name}: {e.GetType().Name}: {e.Message}");
                    continue;
                }
                files++;
                var (v, b, diff) = GoldenModels.Compare(expected, actual);
                values += v; bitwise += b;
                if (diff != null) failures.Add($"{name}: {diff}");
            }
        }
        Assert.IsEmpty(failures, string.Join("\n", failures));
        Assert.IsGreaterThanOrEqualTo(GoldenModels.Families.Count, files);
        Console.WriteLine($"{files} golden files, {values} values, {bitwise} bitwise equal");
    }
}
