using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace SetML.Tests.Packaging;

/// <summary>
/// The NuGet packages as a user gets them: pack SetML.Transforms and SetML.Trainers into a local folder feed, create a
/// fresh console project outside the repository that references only <c>SetML.Trainers</c> (<c>dotnet add package</c>),
/// build it with a package cache that has never seen SetML, then train, save, reload and predict in it.
/// </summary>
/// <remarks>
/// The consumer's package cache is a new empty folder (<c>NUGET_PACKAGES</c>); everything that is not SetML comes from
/// a fallback folder of links to the machine's normal cache (SetML's own entries left out), so CI does not download
/// libtorch (≈600 MB) a second time. The only package source is the SetML folder feed: nothing is downloaded. Its own Directory.Build.props/targets, Directory.Packages.props and nuget.config keep
/// anything of the repository's build from leaking in (it lives under the system temp folder anyway).
/// </remarks>
[TestClass]
public sealed class ConsumerPackageTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public void PackedLibraries_FreshConsoleApp_TrainsSavesReloadsPredicts()
    {
        var total = Stopwatch.StartNew();
        string root = RepositoryRoot();
        var tmp = Directory.CreateTempSubdirectory("setml-consumer-");
        try
        {
            string feed = Path.Combine(tmp.FullName, "feed"), cache = Path.Combine(tmp.FullName, "packages");
            string fallback = Path.Combine(tmp.FullName, "fallback"), app = Path.Combine(tmp.FullName, "app");
            foreach (var d in new[] { feed, cache, fallback, app }) Directory.CreateDirectory(d);

            // 1. Pack (the solution was just built by `dotnet test`).
            foreach (var project in new[] { "SetML.Transforms", "SetML.Trainers" })
                Dotnet(root, null, "pack", Path.Combine(root, project, project + ".csproj"), "-c", Configuration, "--no-build", "-o", feed);
            var trainersPackage = Directory.GetFiles(feed, "SetML.Trainers.*.nupkg").Single(f => !f.EndsWith(".snupkg"));
            string version = Path.GetFileNameWithoutExtension(trainersPackage)["SetML.Trainers.".Length..];
            var packed = total.Elapsed;

            // 2. A fallback folder with everything of the normal cache except SetML.
            string globalCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } g ? g
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            if (Directory.Exists(globalCache))
                foreach (var dir in Directory.GetDirectories(globalCache).Where(d => !Path.GetFileName(d).StartsWith("setml.", StringComparison.OrdinalIgnoreCase)))
                    Directory.CreateSymbolicLink(Path.Combine(fallback, Path.GetFileName(dir)), dir);

            // 3. The consumer: a plain console project of its own, outside the repository.
            File.WriteAllText(Path.Combine(app, "app.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                </Project>
                """);
            foreach (var f in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
                File.WriteAllText(Path.Combine(app, f), "<Project />\n");
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="setml-local" value="{feed}" />
                  </packageSources>
                  <fallbackPackageFolders>
                    <clear />
                    <add key="machine-cache-without-setml" value="{fallback}" />
                  </fallbackPackageFolders>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), ConsumerProgram);

            var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = cache };
            Dotnet(app, env, "add", "package", "SetML.Trainers", "--source", feed, "--version", version);
            var output = Dotnet(app, env, "run", "-c", "Release");
            var ran = total.Elapsed;

            // 4. It trained, saved, reloaded and predicted.
            var line = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("SETML-CONSUMER ", StringComparison.Ordinal))
                ?? throw new AssertFailedException("the consumer printed no result line:\n" + output);
            var values = line.Split(' ').Skip(1).Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => double.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture));
            Assert.IsTrue(values["r2"] > 0.8, line);
            Assert.AreEqual(2.0, values["reloaded"], 0.5, line);
            Assert.AreEqual(values["inmemory"], values["reloaded"], 1e-5, "the reloaded model predicts what the trained one did: " + line);

            // 5. SetML came from the feed into the empty cache; the rest (libtorch) from the fallback, not copied.
            Assert.IsTrue(Directory.Exists(Path.Combine(cache, "setml.trainers", version)) && Directory.Exists(Path.Combine(cache, "setml.transforms", version)));
            long cacheBytes = new DirectoryInfo(cache).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

            // 6. No image stack: ImageAnalytics is not a dependency, and SkiaSharp only comes with TorchSharp itself
            //    (TorchSharp 0.107.0's nuspec depends on SkiaSharp 2.88.6), not through SetML or ML.NET.
            var list = Dotnet(app, env, "list", "package", "--include-transitive");
            StringAssert.Contains(list, "SetML.Trainers");
            Assert.DoesNotContain("ImageAnalytics", list, list);
            var dependents = SkiaSharpDependents(Path.Combine(app, "obj", "project.assets.json"));
            CollectionAssert.IsSubsetOf(dependents, new[] { "TorchSharp", "SkiaSharp" }, "packages that bring SkiaSharp: " + string.Join(", ", dependents));

            TestContext.WriteLine($"consumer test: pack {packed.TotalSeconds:F1} s, add package + build + run {(ran - packed).TotalSeconds:F1} s, " +
                $"total {total.Elapsed.TotalSeconds:F1} s; isolated package cache {cacheBytes / 1024.0:F0} KiB; {line}");
        }
        finally
        {
            try { tmp.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [TestMethod]
    public void PackageBuildFiles_NameTheVersionsTheRepositoryBuildsWith()
    {
        // buildTransitive/SetML.Transforms.props restores the libtorch/TorchSharp backend the package was built with.
        string root = RepositoryRoot();
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(root, "build", "package", "SetML.Transforms.props"));
        var central = System.Xml.Linq.XDocument.Load(Path.Combine(root, "Directory.Packages.props"));
        foreach (var name in new[] { "SetMLTorchSharpVersion", "SetMLLibTorchVersion" })
        {
            string? Value(System.Xml.Linq.XDocument d) => d.Descendants(name).SingleOrDefault()?.Value;
            Assert.IsNotNull(Value(central), name);
            Assert.AreEqual(Value(central), Value(props), name);
        }
    }

    /// <summary>The consumer's program: the getting-started pipeline on 2-D points, then save, reload, predict.</summary>
    private const string ConsumerProgram = """
        using Microsoft.ML;
        using SetML;

        var ml = new MLContext(seed: 0);
        var rng = new Random(0);
        Row Make() { int n = rng.Next(1, 8); var v = Enumerable.Range(0, 2 * n).Select(_ => (float)rng.NextDouble()).ToArray(); return new Row { Points = v, Label = v.Sum() }; }
        var train = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 400).Select(_ => Make()).ToList());
        var model = ml.Regression.Trainers.DeepSets("Label", "Points", elementDimension: 2, epochs: 10).Fit(train);
        double r2 = ml.Regression.Evaluate(model.Transform(train)).RSquared;
        var probe = new Row { Points = new[] { 0.5f, 0.25f, 1f, 0.25f } };   // sum 2
        float inMemory = ml.Model.CreatePredictionEngine<Row, Prediction>(model).Predict(probe).Score;
        ml.Model.Save(model, train.Schema, "model.zip");
        var loaded = ml.Model.Load("model.zip", out _);
        float reloaded = ml.Model.CreatePredictionEngine<Row, Prediction>(loaded).Predict(probe).Score;
        Console.WriteLine(FormattableString.Invariant($"SETML-CONSUMER r2={r2:F4} inmemory={inMemory:R} reloaded={reloaded:R}"));

        public class Row { public float[] Points { get; set; } = []; public float Label { get; set; } }
        public class Prediction { public float Score { get; set; } }
        """;

    private static List<string> SkiaSharpDependents(string assetsFile)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(assetsFile));
        var result = new List<string>();
        foreach (var target in doc.RootElement.GetProperty("targets").EnumerateObject())
            foreach (var lib in target.Value.EnumerateObject())
                if (lib.Value.TryGetProperty("dependencies", out var deps) && deps.EnumerateObject().Any(d => d.Name.StartsWith("SkiaSharp", StringComparison.OrdinalIgnoreCase)))
                    result.Add(lib.Name.Split('/')[0]);
        return result.Distinct().ToList();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SetML.sln"))) return dir.FullName;
        throw new InvalidOperationException("SetML.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs the dotnet CLI, without the MSBuild/test-host variables of this process; fails with its output.</summary>
    private static string Dotnet(string workingDirectory, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) || k.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var stderr = p.StandardError.ReadToEndAsync();
        stdout.Append(p.StandardOutput.ReadToEnd());
        p.WaitForExit();
        string all = stdout + stderr.Result;
        if (p.ExitCode != 0)
            throw new AssertFailedException($"dotnet {string.Join(' ', args)} (in {workingDirectory}) exited with {p.ExitCode}:\n{all}");
        return all;
    }
}
