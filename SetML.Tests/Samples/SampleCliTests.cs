using System.Text.Json;
using SetML.Samples.Infrastructure;

namespace SetML.Tests.Samples;

/// <summary>
/// The SetML.Samples command line, in-process through <see cref="SampleCli.Run"/>. Sub-commands are discovered by
/// reflection (<see cref="SampleCli.Samples"/>), so samples added later are covered without editing this file.
/// </summary>
[TestClass]
public sealed class SampleCliTests
{
    /// <summary>Every sub-command name.</summary>
    public static IEnumerable<object[]> SampleNames => SampleCli.Samples.Select(s => new object[] { s.Name });

    private static (int Code, string Output) Run(params string[] args)
    {
        var output = new StringWriter();
        int code = SampleCli.Run(args, output);
        return (code, output.ToString());
    }

    [TestMethod]
    public void SamplesAreDiscoveredWithUniqueNamesAndTheTour()
    {
        var names = SampleCli.Samples.Select(s => s.Name).ToList();
        CollectionAssert.AllItemsAreUnique(names);
        CollectionAssert.Contains(names, SampleCli.TourName);
        foreach (var expected in new[] { "point-sets", "unique-count", "anomaly" }) CollectionAssert.Contains(names, expected);
        Assert.IsTrue(SampleCli.Samples.All(s => !string.IsNullOrWhiteSpace(s.Description) && s.DefaultEpochs >= 1));
    }

    [TestMethod]
    public void HelpListsEverySample()
    {
        var (code, output) = Run("--help");
        Assert.AreEqual(0, code);
        foreach (var s in SampleCli.Samples) StringAssert.Contains(output, s.Name);
        StringAssert.Contains(output, "--epochs");
    }

    [TestMethod]
    public void SampleOwnOptions_AreListedAndChecked()
    {
        var (code, output) = Run("point-sets", "--help");
        Assert.AreEqual(0, code, output);
        foreach (var o in new[] { "--train N", "--test N", "--points N", "--models X" }) StringAssert.Contains(output, o);
        (code, output) = Run("point-sets", "--train", "0");
        Assert.AreEqual(SampleCli.UsageError, code, output);
        StringAssert.Contains(output, "--train needs a whole number ≥ 1, got '0'");
        (code, output) = Run("point-sets", "--models");
        Assert.AreEqual(SampleCli.UsageError, code, output);
        StringAssert.Contains(output, "--models needs a value");
        (code, output) = Run("max-regression", "--train", "100");
        Assert.AreEqual(SampleCli.UsageError, code, output);
        StringAssert.Contains(output, "unknown option '--train'", "an option of one sample is not accepted by another");
    }

    [TestMethod]
    public void UnknownSampleFailsWithUsage()
    {
        var (code, output) = Run("no-such-sample");
        Assert.AreEqual(SampleCli.UsageError, code);
        StringAssert.Contains(output, "unknown sample 'no-such-sample'");
        StringAssert.Contains(output, "Samples:");
    }

    [TestMethod]
    [DynamicData(nameof(SampleNames))]
    public void SubCommandHelpExitsZero(string name)
    {
        var (code, output) = Run(name, "--help");
        Assert.AreEqual(0, code, output);
        StringAssert.Contains(output, $"-- {name} [options]");
        StringAssert.Contains(output, "--quick");
    }

    [TestMethod]
    [DynamicData(nameof(SampleNames))]
    public void BadArgumentsFailClearly(string name)
    {
        var (code, output) = Run(name, "--epochs", "many");
        Assert.AreEqual(SampleCli.UsageError, code, output);
        StringAssert.Contains(output, "--epochs needs a whole number ≥ 1, got 'many'");

        (code, output) = Run(name, "--device", "tpu");
        Assert.AreEqual(SampleCli.UsageError, code, output);
        StringAssert.Contains(output, "--device must be cpu, cuda or auto, got 'tpu'");

        (code, output) = Run(name, "--frobnicate");
        Assert.AreEqual(SampleCli.UsageError, code, output);
        StringAssert.Contains(output, "unknown option '--frobnicate'");
    }

    [TestMethod]
    [DynamicData(nameof(SampleNames))]
    public void QuickRunWritesResultsJsonWithRows(string name)
    {
        var dir = Directory.CreateTempSubdirectory("setml-cli-").FullName;
        try
        {
            var (code, output) = Run(name, "--quick", "--epochs", "1", "--seed", "3", "--out", dir);
            Assert.AreEqual(0, code, output);
            StringAssert.Contains(output, $"Output folder: {dir}");
            var path = Path.Combine(dir, "results.json");
            Assert.IsTrue(File.Exists(path), "results.json was not written");
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            Assert.AreEqual(name, root.GetProperty("sample").GetString());
            Assert.AreEqual("completed", root.GetProperty("status").GetString());
            var rows = root.GetProperty("rows");
            Assert.IsTrue(rows.GetArrayLength() > 0, "results.json has no rows");
            foreach (var row in rows.EnumerateArray())
            {
                Assert.IsFalse(string.IsNullOrEmpty(row.GetProperty("model").GetString()));
                Assert.AreEqual(JsonValueKind.Object, row.GetProperty("metrics").ValueKind);
                Assert.AreEqual(3, row.GetProperty("seed").GetInt32());
                Assert.IsTrue(row.TryGetProperty("epochs", out _));
                Assert.IsTrue(row.GetProperty("wallSeconds").GetDouble() >= 0);
            }
            foreach (var picture in root.GetProperty("pictures").EnumerateArray())
            {
                var file = Path.Combine(dir, picture.GetProperty("path").GetString()!);
                Assert.IsTrue(File.Exists(file) && new FileInfo(file).Length > 1000, $"picture {file} missing or empty");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    public void CancelledRunStillWritesResultsJson()
    {
        var dir = Directory.CreateTempSubdirectory("setml-cli-").FullName;
        try
        {
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            var output = new StringWriter();
            int code = SampleCli.Run(new[] { "point-sets", "--quick", "--epochs", "1", "--out", dir }, output, cts.Token);
            Assert.AreEqual(SampleCli.Cancelled, code, output.ToString());
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "results.json")));
            Assert.AreEqual("cancelled", doc.RootElement.GetProperty("status").GetString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
