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

    /// <summary>Full names of the methods (lambdas and iterators included) of <paramref name="assemblyPath"/> that call <c>Scalar::op_Implicit</c>.</summary>
    public static List<string> FindImplicitScalarCalls(string assemblyPath, ref int methodsScanned)
    {
        var result = new List<string>();
        bool symbols = File.Exists(Path.ChangeExtension(assemblyPath, ".pdb"));
        using var module = ModuleDefinition.ReadModule(assemblyPath, new ReaderParameters { ReadSymbols = symbols });
        foreach (var type in module.GetTypes())
            foreach (var method in type.Methods.Where(m => m.HasBody))
            {
                methodsScanned++;
                foreach (var ins in method.Body.Instructions)
                {
                    if ((ins.OpCode == OpCodes.Call || ins.OpCode == OpCodes.Callvirt) && ins.Operand is MethodReference callee
                        && callee.Name == "op_Implicit" && callee.DeclaringType.FullName == "TorchSharp.Scalar")
                    {
                        var point = method.DebugInformation.GetSequencePoint(LastSequencePointAt(method, ins));
                        result.Add($"{Describe(type)}::{method.Name}" + (point == null ? "" : $" ({Path.GetFileName(point.Document.Url)}:{point.StartLine})"));
                    }
                }
            }
        return result.Distinct().ToList();
    }

    private static Instruction LastSequencePointAt(MethodDefinition method, Instruction ins)
    {
        for (var i = ins; i != null; i = i.Previous)
            if (method.DebugInformation.GetSequencePoint(i) != null) return i;
        return ins;
    }

    private static string Describe(TypeDefinition type) => type.FullName.Replace('/', '+');
}
