using System.Text.Json;

namespace SetML.Tests.Reliability;

/// <summary>
/// Training and prediction survive garbage collections forced without pause from another thread (the hazard of
/// implicit TorchSharp Scalars, see <see cref="ImplicitScalarTests"/>). Runs in a child process: a native crash fails
/// the test instead of killing the test host.
/// </summary>
[TestClass]
public sealed class GcStressTests
{
    [TestMethod]
    public void SetTransformerTraining_UnderContinuousGC_DoesNotCrash()
    {
        var dir = Directory.CreateTempSubdirectory("setml-gc-");
        try
        {
            string output = Path.Combine(dir.FullName, "report.json");
            var (exited, exitCode, stderr) = ChildProcess.Run(TimeSpan.FromMinutes(3), 1, "gc-stress", "2000", output);
            Assert.IsTrue(exited, "the GC stress run hung");
            Assert.AreEqual(0, exitCode, $"the GC stress run died (exit code {exitCode}): {stderr}");
            var report = JsonSerializer.Deserialize<GcStressProgram.Report>(File.ReadAllText(output))!;
            Assert.IsGreaterThanOrEqualTo(2000, report.Steps);
            Assert.IsGreaterThan(100, report.Collections, "the collector thread barely ran; the test did not stress anything");
            Assert.IsTrue(double.IsFinite(report.FinalLoss));
            Assert.IsTrue(report.PredictionsFinite);
        }
        finally { dir.Delete(recursive: true); }
    }
}
