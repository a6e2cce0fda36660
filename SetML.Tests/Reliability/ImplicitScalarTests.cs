using Mono.Cecil;
using Mono.Cecil.Cil;

namespace SetML.Tests.Reliability;

/// <summary>
/// TorchSharp 0.107's <c>Scalar</c> holds a native handle freed by a finalizer, and operators that take a Scalar do not
/// keep it alive during the native call: an implicit temporary (<c>t.mul_(0.5)</c>) can be finalized by a GC on another
/// thread while libtorch still reads it (the <c>toFloat (Scalar.h)</c> crash). SetML code creates every Scalar explicitly
/// and disposes it after use; this test reads the compiled IL so the rule cannot regress.
/// </summary>
[TestClass]
public sealed class ImplicitScalarTests
{
    /// <summary>The SetML assemblies whose IL is scanned.</summary>
    public static readonly string[] Assemblies = { "SetML.Transforms", "SetML.Trainers", "SetML.Samples" };

    [TestMethod]
    public void NoSetMLMethodCallsScalarOpImplicit()
    {
        var offenders = new List<string>();
        int methods = 0;
        foreach (var name in Assemblies)
        {
            var path = Path.Combine(AppContext.BaseDirectory, name + ".dll");
            Assert.IsTrue(File.Exists(path), $"{path} not found next to the tests");
            offenders.AddRange(FindImplicitScalarCalls(path, ref methods));
        }
        Assert.IsGreaterThan(500, methods, "the scan read too few method bodies to be meaningful");
        Assert.AreEqual(0, offenders.Count,
            "These methods convert to TorchSharp.Scalar implicitly (use `using var s = x.ToScalar()` or a tensor overload):\n  "
            + string.Join("\n  ", offenders));
    }

    [TestMethod]
    public void ScanFindsAnImplicitScalarWhereThereIsOne()
    {
        // The scan itself must work: this test assembly holds one deliberate implicit conversion (below).
        int methods = 0;
        var found = FindImplicitScalarCalls(typeof(ImplicitScalarTests).Assembly.Location, ref methods);
        string expected = $"{typeof(ImplicitScalarTests).FullName}::{nameof(DeliberateImplicitScalar)}";
        Assert.IsTrue(found.Any(f => f.StartsWith(expected)), $"the scan did not find {expected}; found: {string.Join(", ", found)}");
    }

    /// <summary>Not a test: the one implicit Scalar conversion <see cref="ScanFindsAnImplicitScalarWhereThereIsOne"/> looks for.</summary>
    internal static TorchSharp.Scalar DeliberateImplicitScalar() => 0.5f;

    /// <summary>
    /// The methods (lambdas and iterators included) of <paramref name="assemblyPath"/> that convert to a Scalar
    /// implicitly: directly (<c>Scalar::op_Implicit</c> in their own IL), or through a TorchSharp method that does so
    /// inside (e.g. <c>Tensor + Tensor</c> is <c>add(other, 1)</c> with an implicit alpha, <c>square()</c> is <c>pow(2)</c>):
    /// the TorchSharp callees are followed up to four calls deep.
    /// </summary>
    public static List<string> FindImplicitScalarCalls(string assemblyPath, ref int methodsScanned)
    {
        var result = new List<string>();
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(assemblyPath)!);
        bool symbols = File.Exists(Path.ChangeExtension(assemblyPath, ".pdb"));
        using var module = ModuleDefinition.ReadModule(assemblyPath, new ReaderParameters { ReadSymbols = symbols, AssemblyResolver = resolver });
        var torchSharp = new Dictionary<string, bool>();
        foreach (var type in module.GetTypes())
            foreach (var method in type.Methods.Where(m => m.HasBody))
            {
                methodsScanned++;
                foreach (var ins in method.Body.Instructions)
                {
                    if (!IsCall(ins, out var callee)) continue;
                    string? why = IsImplicitScalar(callee) ? "Scalar.op_Implicit"
                        : ConvertsInside(callee, torchSharp, 0) ? $"TorchSharp {callee.DeclaringType.Name}.{callee.Name}({string.Join(", ", callee.Parameters.Select(p => p.ParameterType.Name))}), which converts a Scalar implicitly inside"
                        : null;
                    if (why == null) continue;
                    var point = method.DebugInformation.GetSequencePoint(LastSequencePointAt(method, ins));
                    result.Add($"{Describe(type)}::{method.Name}" + (point == null ? "" : $" ({Path.GetFileName(point.Document.Url)}:{point.StartLine})") + $": {why}");
                }
            }
        return result.Distinct().ToList();
    }

    private static bool IsCall(Instruction ins, out MethodReference callee)
    {
        callee = (ins.Operand as MethodReference)!;
        return (ins.OpCode == OpCodes.Call || ins.OpCode == OpCodes.Callvirt || ins.OpCode == OpCodes.Newobj) && callee != null;
    }

    private static bool IsImplicitScalar(MethodReference m) => m.Name == "op_Implicit" && m.DeclaringType.FullName == "TorchSharp.Scalar";

    // Whether a TorchSharp method converts to Scalar implicitly in its body or in the TorchSharp methods it calls.
    private static bool ConvertsInside(MethodReference callee, Dictionary<string, bool> cache, int depth)
    {
        if (callee.DeclaringType.Scope?.Name is not ("TorchSharp" or "TorchSharp.dll")) return false;
        MethodDefinition? d;
        try { d = callee.Resolve(); } catch (AssemblyResolutionException) { return false; }
        if (d == null || !d.HasBody) return false;
        if (cache.TryGetValue(d.FullName, out bool known)) return known;
        cache[d.FullName] = false;   // cycles
        bool result = false;
        foreach (var ins in d.Body.Instructions)
            if (IsCall(ins, out var c) && (IsImplicitScalar(c) || (depth < 4 && ConvertsInside(c, cache, depth + 1)))) { result = true; break; }
        return cache[d.FullName] = result;
    }

    private static Instruction LastSequencePointAt(MethodDefinition method, Instruction ins)
    {
        for (var i = ins; i != null; i = i.Previous)
            if (method.DebugInformation.GetSequencePoint(i) != null) return i;
        return ins;
    }

    private static string Describe(TypeDefinition type) => type.FullName.Replace('/', '+');
}
