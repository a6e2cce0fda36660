using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SetML.Training;

/// <summary>
/// How SetML sets up libtorch's OpenMP thread pool before libtorch starts: passive waiting after a short spin
/// (<c>OMP_WAIT_POLICY=PASSIVE</c>, <c>GOMP_SPINCOUNT=3000</c>), so that idle OpenMP workers sleep instead of spinning
/// for milliseconds, but do not sleep between the closely spaced parallel regions of one forward or backward pass.
/// </summary>
/// <remarks>
/// <para>
/// By default the OpenMP runtime bundled with libtorch (GNU libgomp) lets a worker that has finished its share of a
/// parallel region spin 300,000 <c>pause</c> instructions (about 5.7 ms on the bench machine) before it sleeps. On a
/// machine whose cores are busy with other processes (a shared build machine, a web server), those spinning workers
/// take the cores that the working threads need: a Deep Sets training epoch on a 2-core machine under load measured
/// 12.7–14.4 s with the default and 4.4–5.9 s with passive waiting (see docs/performance.md).
/// </para>
/// <para>
/// Passive waiting alone (no spin at all) made every parallel region wake a sleeping worker, which on a virtual machine
/// costs a wake-up of a halted virtual CPU: the Set Transformer's 2-thread training step was no faster than its
/// 1-thread one. A spin of 3,000 <c>pause</c>s (about 57 µs there; longer on processors with a slower <c>pause</c>)
/// covers the gaps between the regions of one pass: 2-thread Set Transformer step 45 → 32 ms and forward 12.3 → 7.6 ms
/// (medians of five alternating processes), while under two busy-loop neighbours it stayed within the spread of
/// passive waiting (Deep Sets epoch 1.14 → 1.33 s, Set Transformer epoch 3.2–3.5 → 2.4–2.8 s).
/// </para>
/// <para>
/// The OpenMP runtime reads the variables once, when libtorch is loaded, so SetML sets them in the process environment
/// when the SetML assembly is first used — before its first tensor operation. A choice the user has already made is
/// never overwritten: with <c>OMP_WAIT_POLICY</c> set (<c>ACTIVE</c> for a dedicated machine, <c>PASSIVE</c> for no spin
/// at all) or <c>GOMP_SPINCOUNT</c> set, SetML adds no spin count, and an application that loads libtorch itself
/// before it first touches SetML keeps the settings it started with.
/// </para>
/// </remarks>
internal static class OpenMPSettings
{
    /// <summary>The environment variable of the OpenMP wait policy.</summary>
    public const string WaitPolicyVariable = "OMP_WAIT_POLICY";

    /// <summary>The wait policy SetML sets when the variable is unset.</summary>
    public const string DefaultWaitPolicy = "PASSIVE";

    /// <summary>GNU libgomp's spin count before a waiting worker sleeps (it takes precedence over the policy's).</summary>
    public const string SpinCountVariable = "GOMP_SPINCOUNT";

    /// <summary>The spin count SetML sets when neither <see cref="WaitPolicyVariable"/> nor <see cref="SpinCountVariable"/> is set.</summary>
    public const string DefaultSpinCount = "3000";

    /// <summary>
    /// The wait policy in effect for the OpenMP runtime as far as the process environment shows it (what it reads at
    /// start-up): <see cref="DefaultWaitPolicy"/> unless the user set another value before SetML was first used.
    /// </summary>
    public static string? WaitPolicy => ReadNative(WaitPolicyVariable);

    /// <summary>The spin count in the process environment (<see cref="DefaultSpinCount"/> unless the user chose the waiting).</summary>
    public static string? SpinCount => ReadNative(SpinCountVariable);

    /// <summary>
    /// The variables SetML set (they were unset when SetML was first used), as opposed to the user or the environment.
    /// Child processes inherit them; one that must run with the environment the application was started with (the
    /// bench's PyTorch reference) removes these.
    /// </summary>
    public static IReadOnlyList<string> VariablesSetBySetML { get; private set; } = Array.Empty<string>();

    /// <summary>
    /// What SetML sets, given how the environment reads (<paramref name="environment"/>: a variable's value or null):
    /// the passive policy when no policy is set, and the spin count when neither the policy nor a spin count is set.
    /// </summary>
    internal static IReadOnlyList<(string Name, string Value)> Choose(Func<string, string?> environment)
    {
        bool policySet = !string.IsNullOrEmpty(environment(WaitPolicyVariable));
        bool spinSet = !string.IsNullOrEmpty(environment(SpinCountVariable));
        var chosen = new List<(string, string)>();
        if (!policySet) chosen.Add((WaitPolicyVariable, DefaultWaitPolicy));
        if (!policySet && !spinSet) chosen.Add((SpinCountVariable, DefaultSpinCount));
        return chosen;
    }

    /// <summary>Runs when the SetML assembly is loaded, before any SetML code can start libtorch.</summary>
#pragma warning disable CA2255 // a module initializer is the only place that reliably runs before libtorch is loaded
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        try
        {
            var set = new List<string>();
            foreach (var (name, value) in Choose(LoadTimeAdjustment.Environment))
                if (SetIfUnset(name, value)) set.Add(name);
            VariablesSetBySetML = set;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
        {
            // No C library to set the variables in (an unusual runtime): libtorch keeps its default waiting.
        }
        // After the waiting (they may load libtorch, whose OpenMP runtime reads it once when it is loaded). The
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
