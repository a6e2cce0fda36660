using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SetML.Training;

/// <summary>
/// How SetML sets up libtorch's OpenMP thread pool before libtorch starts: passive waiting
/// (<c>OMP_WAIT_POLICY=PASSIVE</c>), so that idle OpenMP workers sleep instead of spinning.
/// </summary>
/// <remarks>
/// <para>
/// By default the OpenMP runtime bundled with libtorch lets a worker that has finished its share of a parallel region
/// spin for a while before it sleeps. On a machine whose cores are busy with other processes (a shared build machine,
/// a web server), those spinning workers take the cores that the working threads need: a Deep Sets training epoch on
/// a 2-core machine under load measured 12.7–14.4 s with the default policy and 4.4–5.9 s with passive waiting
/// (see docs/performance.md). On an idle machine passive waiting costs little, because SetML's kernels are large
/// enough that the wake-up latency is small next to them.
/// </para>
/// <para>
/// The OpenMP runtime reads the variable once, when libtorch is loaded, so SetML sets it in the process environment
/// when the SetML assembly is first used — before its first tensor operation. A value the user has already set
/// (<c>OMP_WAIT_POLICY=ACTIVE</c>, for a dedicated machine) is never overwritten, and an application that loads
/// libtorch itself before it first touches SetML keeps the policy it started with.
/// </para>
/// </remarks>
internal static class OpenMPSettings
{
    /// <summary>The environment variable the OpenMP runtime reads.</summary>
    public const string WaitPolicyVariable = "OMP_WAIT_POLICY";

    /// <summary>The wait policy SetML sets when the variable is unset.</summary>
    public const string DefaultWaitPolicy = "PASSIVE";

    /// <summary>
    /// The wait policy in effect for the OpenMP runtime as far as the process environment shows it (what it reads at
    /// start-up): <see cref="DefaultWaitPolicy"/> unless the user set another value before SetML was first used.
    /// </summary>
    public static string? WaitPolicy => ReadNative(WaitPolicyVariable);

    /// <summary>
    /// Whether SetML set <see cref="WaitPolicyVariable"/> (it was unset when SetML was first used), as opposed to the
    /// user or the environment. Child processes inherit the variable; one that must run with the environment the
    /// application was started with (the bench's PyTorch reference) removes it when this is true.
    /// </summary>
    public static bool WaitPolicySetBySetML { get; private set; }

    /// <summary>Runs when the SetML assembly is loaded, before any SetML code can start libtorch.</summary>
#pragma warning disable CA2255 // a module initializer is the only place that reliably runs before libtorch is loaded
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        try { WaitPolicySetBySetML = SetIfUnset(WaitPolicyVariable, DefaultWaitPolicy); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
        {
            // No C library to set the variable in (an unusual runtime): libtorch keeps its default policy.
        }
        // After the policy (they may load libtorch, whose OpenMP runtime reads the policy once when it is loaded). The
        // stub fix first: it applies only where libtorch is not loaded yet, and MKL's selection loads it.
        DispatchStubCache.Adjustment.Run();
        MklCodePath.Adjustment.Run();
    }

    /// <summary>
    /// Sets <paramref name="name"/> in the native process environment (which native libraries read, unlike .NET's
    /// managed copy on Unix) unless it is already set, and in the managed environment for consistency. Returns whether
    /// it set the variable.
    /// </summary>
    internal static bool SetIfUnset(string name, string value)
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)) || !string.IsNullOrEmpty(ReadNative(name))) return false;
        if (OperatingSystem.IsLinux()) _ = Glibc.setenv(name, value, 0);
        else if (!OperatingSystem.IsWindows()) _ = Libc.setenv(name, value, 0);
        Environment.SetEnvironmentVariable(name, value);
        return true;
    }

    internal static string? ReadNative(string name)
    {
        if (OperatingSystem.IsWindows()) return Environment.GetEnvironmentVariable(name);
        var p = OperatingSystem.IsLinux() ? Glibc.getenv(name) : Libc.getenv(name);
        return p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p);
    }

    private static class Glibc
    {
        [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        internal static extern int setenv(string name, string value, int overwrite);

        [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        internal static extern IntPtr getenv(string name);
    }

    private static class Libc
    {
        [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        internal static extern int setenv(string name, string value, int overwrite);

        [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        internal static extern IntPtr getenv(string name);
    }
}
