using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SetML.Training;

/// <summary>
/// glibc allocator settings made when SetML is first used (Linux): large blocks are served from the heap instead of
/// fresh <c>mmap</c>s (<c>M_MMAP_MAX = 0</c>), and freed memory is given back to the system only above a large trim
/// threshold (<c>M_TRIM_THRESHOLD</c> = <see cref="TrimThresholdBytes"/>).
/// </summary>
/// <remarks>
/// <para>
/// libtorch frees and reallocates its large intermediate tensors (attention logits, activations, gradients) at every
/// step. With glibc's defaults each of them is a fresh <c>mmap</c> whose pages the kernel must fault in and zero
/// again, and on the project's virtual machines that kernel work took 10–60 % of the CPU time of a training step
/// X. Keeping the memory in the process
/// removes it; the price is that memory freed by SetML is kept for reuse rather than returned at once (a process's
/// resident size stays near its peak).
/// </para>
/// <para>
/// The settings are not made when the user has chosen allocator settings already (any of the <c>MALLOC_MMAP_MAX_</c>,
/// <c>MALLOC_TRIM_THRESHOLD_</c>, <c>MALLOC_MMAP_THRESHOLD_</c> or <c>GLIBC_TUNABLES</c> environment variables) or
/// has set <c>SETML_MALLOC_TUNING=0</c>, nor on other C libraries.
/// </para>
/// </remarks>
internal static class AllocatorSettings
{
    /// <summary>The environment variable that turns the settings off (value <c>0</c>).</summary>
    public const string OptOutVariable = "SETML_MALLOC_TUNING";

    /// <summary>Freed memory at the top of the heap is returned to the system only above this size.</summary>
    public const int TrimThresholdBytes = 1 << 30;

    private const int M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4;

    /// <summary>Whether SetML changed the allocator settings in this process.</summary>
    public static bool Applied { get; private set; }

    /// <summary>Runs when the SetML assembly is loaded.</summary>
#pragma warning disable CA2255 // a module initializer is the one place that runs before SetML's first allocation-heavy work
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        if (!OperatingSystem.IsLinux() || !ShouldApply(LoadTimeAdjustment.Environment)) return;
        try { Applied = mallopt(M_MMAP_MAX, 0) == 1 & mallopt(M_TRIM_THRESHOLD, TrimThresholdBytes) == 1; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): its allocator has no such settings.
        }
    }

    /// <summary>False when the user opted out or chose allocator settings of their own (see the class remarks).</summary>
    internal static bool ShouldApply(Func<string, string?> environment)
        => environment(OptOutVariable) != "0"
           && new[] { "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES" }.All(v => string.IsNullOrEmpty(environment(v)));

    [DllImport("libc.so.6")]
    private static extern int mallopt(int param, int value);
}
