using System.Reflection;
using System.Runtime.Loader;
using SetML.Samples.Infrastructure;

namespace SetML.Tests.Foundation;

/// <summary>Process set-up for the test host, before any test runs.</summary>
[TestClass]
public sealed class TestHostSetup
{
    /// <summary>
    /// The samples run in this process, so ScottPlot must get SkiaSharp 3 from <see cref="SkiaSharpSideBySide"/> while
    /// ImageAnalytics keeps the SkiaSharp 2.88 of the default context. VSTest's test host registers its own
    /// <c>AssemblyLoadContext.Default.Resolving</c> handler first, and it answers any request for "SkiaSharp" with the
    /// 2.88 file next to the tests, whatever version was asked for. A standalone SetML.Samples process has no such
    /// handler; here SetML's resolver is moved to the front of the list (read through the event's backing field).
    /// </summary>
    [AssemblyInitialize]
    public static void PutSkiaSharpResolverFirst(TestContext context)
    {
        // SetML's module initializer before any test's first tensor operation, as in an application and in the child
        // processes some tests start: MKL's code path (TorchRuntime.MklCodePath) is then the same everywhere, and
        // predictions compared across processes are bitwise equal.
        _ = SetML.Training.TorchRuntime.MklCodePath;
        _ = SkiaSharpSideBySide.Folder;   // runs SetML.Samples' module initializer, which installs the resolver
        var field = typeof(AssemblyLoadContext).GetField("_resolving", BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new InvalidOperationException("AssemblyLoadContext._resolving not found: this .NET version changed its internals; update TestHostSetup.");
        var handlers = ((Delegate?)field.GetValue(AssemblyLoadContext.Default))?.GetInvocationList() ?? Array.Empty<Delegate>();
        var ours = handlers.Where(h => h.Method.DeclaringType == typeof(SkiaSharpSideBySide)).ToList();
        if (ours.Count == 0) throw new InvalidOperationException("SetML.Samples' SkiaSharp resolver is not installed.");
        foreach (var h in handlers) AssemblyLoadContext.Default.Resolving -= (Func<AssemblyLoadContext, AssemblyName, Assembly?>)h;
        foreach (var h in ours.Concat(handlers.Except(ours))) AssemblyLoadContext.Default.Resolving += (Func<AssemblyLoadContext, AssemblyName, Assembly?>)h;
    }
}
