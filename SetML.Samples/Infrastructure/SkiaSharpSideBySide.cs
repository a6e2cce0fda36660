using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace SetML.Samples.Infrastructure;

/// <summary>
/// Lets ML.NET ImageAnalytics (SkiaSharp 2.88) and ScottPlot (SkiaSharp 3.x) run in one process.
/// <para>
/// ML.NET 5.0.1's <c>ExtractPixels</c> calls <c>ReadOnlySpan&lt;byte&gt; SKBitmap.GetPixelSpan()</c>, which SkiaSharp 3
/// changed to return <c>Span&lt;byte&gt;</c>; ScottPlot 5.1.59 needs SkiaSharp 3.119. The build
/// (<c>build/SkiaSharpSideBySide.targets</c>) pins the default load context to SkiaSharp 2.88 and copies SkiaSharp 3 to
/// <c>skia3/</c>; this module initializer answers ScottPlot's request for SkiaSharp 3.x with that copy, loaded into a
/// private <see cref="AssemblyLoadContext"/> together with its own native <c>libSkiaSharp</c>.
/// </para>
/// Only the picture code sees SkiaSharp 3 types; nothing crosses between the two SkiaSharp versions.
/// </summary>
public static class SkiaSharpSideBySide
{
    private static readonly object Gate = new();
    private static AssemblyLoadContext? _context;

    /// <summary>The folder holding SkiaSharp 3 (<c>skia3/</c> next to the application).</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "skia3");

    /// <summary>Installed automatically when this assembly is first used.</summary>
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "An application assembly: the resolver must be in place before any ScottPlot type loads.")]
    internal static void Install() => AssemblyLoadContext.Default.Resolving += Resolve;

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        if (name.Name != "SkiaSharp" || name.Version is not { Major: >= 3 }) return null;
        var path = Path.Combine(Folder, "SkiaSharp.dll");
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"ScottPlot needs SkiaSharp {name.Version}, expected at '{path}' (copied there by build/SkiaSharpSideBySide.targets). Rebuild SetML.Samples.", path);
        lock (Gate)
        {
            _context ??= new SkiaSharp3Context(Folder);
            return _context.LoadFromAssemblyPath(path);
        }
    }

    /// <summary>The native library file for this OS and architecture under <paramref name="folder"/>.</summary>
    internal static string NativeLibraryPath(string folder)
    {
        string arch = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "x64";
        if (OperatingSystem.IsWindows()) return Path.Combine(folder, $"win-{arch}", "libSkiaSharp.dll");
        if (OperatingSystem.IsMacOS()) return Path.Combine(folder, "osx", "libSkiaSharp.dylib");
        return Path.Combine(folder, $"linux-{arch}", "libSkiaSharp.so");
    }

    /// <summary>SkiaSharp 3's managed assembly and its native library, private to ScottPlot.</summary>
    private sealed class SkiaSharp3Context(string folder) : AssemblyLoadContext("SkiaSharp3")
    {
        protected override Assembly? Load(AssemblyName assemblyName) => null; // everything else: the default context

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            if (!unmanagedDllName.Contains("SkiaSharp", StringComparison.OrdinalIgnoreCase)) return IntPtr.Zero;
            var path = NativeLibraryPath(folder);
            if (!File.Exists(path))
                throw new DllNotFoundException($"SkiaSharp 3's native library for {RuntimeInformation.RuntimeIdentifier} was not found at '{path}'.");
            return LoadUnmanagedDllFromPath(path);
        }
    }
}
