using System.Reflection;
using Microsoft.ML;
using SetML.Training;

namespace SetML.Tests.Api;

/// <summary>
/// Rules of SetML's public API, checked by reflection over SetML.Transforms and SetML.Trainers so that a new method or
/// options class cannot break them unnoticed.
/// </summary>
[TestClass]
public sealed class PublicApiTests
{
    private static readonly Assembly[] Libraries = { typeof(SetTransformsCatalog).Assembly, typeof(SetTrainersCatalog).Assembly };

    private static IEnumerable<MethodBase> PublicMethods(Type t)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        return t.GetMethods(flags).Cast<MethodBase>().Concat(t.GetConstructors(flags))
            .Where(m => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly);
    }

    /// <summary>
    /// Every change of the public surface is deliberate: the public types and members of SetML.Transforms and
    /// SetML.Trainers must match the committed baseline <c>Api/public-api.txt</c> line for line.
    /// </summary>
    [TestMethod]
    public void PublicSurfaceMatchesTheCommittedBaseline()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SetML.Tests", "Api", PublicApiBaseline.FileName))) dir = dir.Parent;
        Assert.IsNotNull(dir, $"SetML.Tests/Api/{PublicApiBaseline.FileName} not found above the test binaries; create it with: {PublicApiBaseline.Command}");
        var committed = File.ReadAllText(Path.Combine(dir!.FullName, "SetML.Tests", "Api", PublicApiBaseline.FileName)).ReplaceLineEndings("\n").Split('\n');
        var current = PublicApiBaseline.Build().Split('\n');
        var removed = committed.Except(current).Where(l => l.Length > 0).ToList();
        var added = current.Except(committed).Where(l => l.Length > 0).ToList();
        if (removed.Count == 0 && added.Count == 0) return;
        Assert.Fail("The public API differs from SetML.Tests/Api/public-api.txt.\n" +
            (removed.Count > 0 ? $"Gone or changed ({removed.Count}; users' code that uses them no longer compiles):\n  {string.Join("\n  ", removed.Take(40))}\n" : "") +
            (added.Count > 0 ? $"New ({added.Count}; public API is frozen once released — make it internal unless users need it):\n  {string.Join("\n  ", added.Take(40))}\n" : "") +
            $"If the change is deliberate, rewrite the baseline (and docs/api.md) after a Release build:\n  {PublicApiBaseline.Command}\n  {ApiReference.Command}");
    }

    /// <summary>
    /// Issue 11: no element dimension has a default. A wrong d does not fail — 2-D points read as 1-D numbers still
    /// train — so a caller must always say it: no public or protected parameter named <c>…elementDimension</c> is
    /// optional, and every settable <c>…ElementDimension</c> property is a C# <c>required</c> member.
    /// </summary>
    [TestMethod]
    public void ElementDimension_HasNoDefaultAnywhereInThePublicApi()
    {
        var types = Libraries.SelectMany(a => a.GetExportedTypes()).ToList();
        var parameters = types.SelectMany(PublicMethods)
            .SelectMany(m => m.GetParameters().Select(p => (Method: m, Parameter: p)))
            .Where(x => x.Parameter.Name != null && x.Parameter.Name.EndsWith("elementDimension", StringComparison.OrdinalIgnoreCase))
            .ToList();
        var withDefault = parameters.Where(x => x.Parameter.IsOptional || x.Parameter.HasDefaultValue)
            .Select(x => $"{x.Method.DeclaringType!.FullName}.{x.Method.Name}({x.Parameter.Name} = {x.Parameter.DefaultValue})").ToList();
        Assert.IsEmpty(withDefault, "elementDimension parameters with a default:\n" + string.Join("\n", withDefault));
        // The rule covers every catalog method: make sure the scan saw them (trainers, featurizers, set prediction).
        Assert.IsTrue(parameters.Count >= 40, $"only {parameters.Count} elementDimension parameters found");

        var properties = types.SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Where(p => p.Name.EndsWith("ElementDimension", StringComparison.Ordinal) && p.SetMethod is { IsPublic: true })
            .ToList();
        var notRequired = properties.Where(p => !p.CustomAttributes.Any(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.RequiredMemberAttribute"))
            .Select(p => $"{p.DeclaringType!.FullName}.{p.Name}").ToList();
        Assert.IsEmpty(notRequired, "settable ElementDimension properties that are not 'required':\n" + string.Join("\n", notRequired));
        Assert.IsTrue(properties.Count >= 2, $"only {properties.Count} settable ElementDimension properties found");
    }

    /// <summary>
    /// Issue 14: as in ML.NET, every learned trainer and featurizer of the catalogs has a simple-arguments overload
    /// (epochs, batchSize, learningRate) and an overload taking its options class, and the two agree on every other
    /// parameter (same names, same order); encoder hyper-parameters a simple overload adds come last, optional with default null.
    /// </summary>
    [TestMethod]
    public void EveryCatalogTrainerHasSimpleAndOptionsOverloads()
    {
        var catalogMethods = new[] { typeof(SetTransformsCatalog), typeof(SetTrainersCatalog), typeof(SetPredictionTrainers) }
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Where(m => m.ReturnType.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEstimator<>)))
            .ToList();
        var groups = catalogMethods.GroupBy(m => (m.DeclaringType, m.Name, Catalog: m.IsStatic ? m.GetParameters()[0].ParameterType : null)).ToList();
        var problems = new List<string>();
        int learned = 0;
        foreach (var g in groups)
        {
            bool IsOptions(ParameterInfo p) => typeof(SetTrainingOptions).IsAssignableFrom(p.ParameterType);
            var withOptions = g.Where(m => m.GetParameters().Any(IsOptions)).ToList();
            if (withOptions.Count == 0 && g.Key.Name is nameof(SetTransformsCatalog.SetPooling) or nameof(SetTransformsCatalog.NormalizeSetElements))
                continue;   // not learned (statistics at most): no training options
            learned++;
            var simple = g.Where(m => m.GetParameters().Select(p => p.Name).Intersect(new[] { "epochs", "batchSize", "learningRate" }).Count() == 3).ToList();
            if (withOptions.Count != 1 || simple.Count != 1) { problems.Add($"{g.Key.DeclaringType!.Name}.{g.Key.Name}: {withOptions.Count} options and {simple.Count} simple overloads"); continue; }
            var common = withOptions[0].GetParameters().Where(p => !IsOptions(p)).Select(p => p.Name).ToList();
            var simpleParameters = simple[0].GetParameters();
            var simpleCommon = simpleParameters.Take(common.Count + 3).Select(p => p.Name).Where(n => n is not ("epochs" or "batchSize" or "learningRate"));
            if (!common.SequenceEqual(simpleCommon))
                problems.Add($"{g.Key.DeclaringType!.Name}.{g.Key.Name}: ({string.Join(", ", common)}) vs ({string.Join(", ", simpleCommon)})");
            // A simple overload may add the model's key hyper-parameters after learningRate (as FastTree has numberOfLeaves):
            // optional, null = the options default, so existing calls keep compiling and meaning the same.
            foreach (var extra in simpleParameters.Skip(common.Count + 3).Where(p => !p.HasDefaultValue || p.DefaultValue != null))
                problems.Add($"{g.Key.DeclaringType!.Name}.{g.Key.Name}: '{extra.Name}' after learningRate must be optional with default null");
        }
        Assert.IsEmpty(problems, string.Join("\n", problems));
        Assert.IsTrue(learned >= 20, $"only {learned} learned catalog methods found");
    }
}
