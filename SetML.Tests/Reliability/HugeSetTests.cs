using System.Text.Json;
using SetML.SetColumns;
using SetML.Training;

namespace SetML.Tests.Reliability;

/// <summary>
/// A row of 10⁶ elements (d = 3) through every encoder, at prediction and at Fit: a correct result, or a clear
/// <see cref="SetColumnException"/> before any allocation — and the process survives. The cases run in a child process
/// (<see cref="HugeSetProgram"/>), so a regression to a native abort fails this test instead of killing the test host.
/// </summary>
[TestClass]
public sealed class HugeSetTests
{
    // Memory linear in n: they fit the 2 GB budget (a batch holding the huge row is split) and give correct scores.
    private static readonly string[] Linear = { "DeepSets", "SetTransformer-ISAB", "SlotSetEncoder", "FSPool", "EquivariantDeepSets", "AttentionPooling" };
    // Memory quadratic (SAB, relation network) or n^k (2-ary Janossy) in n: refused before allocation.
    private static readonly string[] Superlinear = { "SetTransformer-SAB", "Janossy", "RelationNetwork" };

    [TestMethod]
    public void MillionElementRow_EveryEncoder_PredictAndFit_CorrectOrClearError_ProcessSurvives()
    {
        CollectionAssert.AreEquivalent(HugeSetProgram.Encoders.Select(e => e.Name).ToArray(), Linear.Concat(Superlinear).ToArray());
        var dir = Directory.CreateTempSubdirectory("setml-huge-");
        try
        {
            string output = Path.Combine(dir.FullName, "outcomes.jsonl");
            var (exited, exitCode, stderr) = ChildProcess.Run(TimeSpan.FromMinutes(4), 0, "huge-set", output);
            var lines = File.Exists(output) ? File.ReadAllLines(output) : Array.Empty<string>();
            var outcomes = lines.Select(l => JsonSerializer.Deserialize<HugeSetProgram.Outcome>(l)!).ToList();
            string last = outcomes.LastOrDefault()?.Case ?? "(none)";
            Assert.IsTrue(exited, $"the child process hung (last case: {last})");
            Assert.AreEqual(0, exitCode, $"the child process died (exit code {exitCode}) in case {last}: {stderr}");

            var results = outcomes.Where(o => o.Result != "started").ToDictionary(o => o.Case);
            foreach (var name in Linear.Concat(Superlinear))
            {
                Assert.AreEqual("ok", results[name + "/train-small"].Result, results[name + "/train-small"].Message);
                foreach (var kind in new[] { "PredictionEngine", "Transform", "Fit" })
                {
                    var o = results[$"{name}/{kind}"];
                    if (Linear.Contains(name))
                    {
                        Assert.AreEqual("ok", o.Result, $"{o.Case}: {o.Message}");
                        continue;
                    }
                    Assert.AreEqual(nameof(SetColumnException), o.Result, $"{o.Case}: {o.Message}");
                    Assert.AreEqual(nameof(SetRule.MemoryBudget), o.Rule, o.Case);
                    Assert.AreEqual(kind == "PredictionEngine" ? 0 : HugeSetProgram.HugeRow, o.Row, $"{o.Case}: {o.Message}");
                    foreach (var part in new[] { "Set column 'Points'", $"has {HugeSetProgram.HugeSize} elements", MemoryBudget.Format(HugeSetProgram.Budget), "MemoryBudgetBytes", "Nothing was allocated" })
                        StringAssert.Contains(o.Message, part, o.Case);
                }
            }
        }
        finally { dir.Delete(recursive: true); }
    }
}
