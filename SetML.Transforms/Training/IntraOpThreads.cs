using System.Runtime.InteropServices;
using TorchSharp;

namespace SetML.Training;

/// <summary>
/// Runs a small forward pass on the calling thread alone: libtorch's OpenMP intra-op team is switched to one thread
/// for this thread only (OpenMP's <c>nthreads-var</c> is per thread) and restored afterwards, so that a single-row
/// prediction (or a small streamed chunk) neither wakes the pool's workers for tensors far too small to split nor competes with other
/// prediction threads for the cores. Large batches keep libtorch's setting.
/// </summary>
/// <remarks>
/// libtorch decides whether to fan an operation out with <c>omp_get_max_threads()</c> of the calling thread, which
/// <c>omp_set_num_threads</c> on that thread changes without touching other threads or libtorch's global setting
/// (<c>torch.set_num_threads</c> would change both, and clear oneDNN's caches). The OpenMP runtime is the one libtorch
/// loaded (found in the process's mapped libraries); where there is none (another platform, or a libtorch built without
/// OpenMP) the scope does nothing. libtorch's MKL keeps a second, per-thread team size for its GEMMs
/// (<c>mkl_set_num_threads_local</c>, set by libtorch on each thread's first use); the scope sets it to one as well —
/// without that, MKL fans a single row's small matrix products out to the pool and a prediction takes twice as long
/// with two intra-op threads as with one (bench <c>predict</c>: 121 µs → 53 µs per prediction, 30 November 2026).
/// </remarks>
internal readonly struct IntraOpThreads : IDisposable
{
    /// <summary>Padded elements (rows × largest set, summed over set inputs) below which a forward pass runs on one thread.</summary>
    public const long SingleThreadBelowElements = 2048;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetNumThreadsFn(int threads);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int GetMaxThreadsFn();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int MklSetNumThreadsLocalFn(int threads);

    // Resolved on first use, when libtorch (and its OpenMP runtime) is loaded: a network exists before any prediction.
    private static readonly SetNumThreadsFn? SetNumThreads;
    private static readonly GetMaxThreadsFn? GetMaxThreads;
    // MKL's per-thread team (libtorch sets it beside OpenMP's on each thread's first use): returns the previous setting.
    private static readonly MklSetNumThreadsLocalFn? MklSetNumThreadsLocal;
    private static readonly GetMaxThreadsFn? MklGetMaxThreads;
    private readonly int restore;
    private readonly int restoreMkl;

    static IntraOpThreads()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            var regions = MappedRegion.Read();
            var mapped = regions.Select(r => r.Path).Distinct().ToList();
            var torchCpu = MappedRegion.TorchCpu(regions);
            if (torchCpu != null && NativeLibrary.TryLoad(torchCpu, out var cpu) && NativeLibrary.TryGetExport(cpu, "MKL_Set_Num_Threads_Local", out var mkl))
            {
                MklSetNumThreadsLocal = Marshal.GetDelegateForFunctionPointer<MklSetNumThreadsLocalFn>(mkl);
                if (NativeLibrary.TryGetExport(cpu, "MKL_Get_Max_Threads", out var mklGet))
                    MklGetMaxThreads = Marshal.GetDelegateForFunctionPointer<GetMaxThreadsFn>(mklGet);
            }
            // libtorch's own OpenMP runtime (beside libtorch_cpu.so), not another library's (LightGBM brings the system's).
            var gomps = mapped.Where(m => Path.GetFileName(m).StartsWith("libgomp", StringComparison.Ordinal)).ToList();
            var path = gomps.FirstOrDefault(m => torchCpu != null && Path.GetDirectoryName(m) == Path.GetDirectoryName(torchCpu)) ?? gomps.FirstOrDefault();
            if (path == null || !NativeLibrary.TryLoad(path, out var gomp)) return;
            if (NativeLibrary.TryGetExport(gomp, "omp_set_num_threads", out var set) && NativeLibrary.TryGetExport(gomp, "omp_get_max_threads", out var get))
            {
                SetNumThreads = Marshal.GetDelegateForFunctionPointer<SetNumThreadsFn>(set);
                GetMaxThreads = Marshal.GetDelegateForFunctionPointer<GetMaxThreadsFn>(get);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private IntraOpThreads(int restore, int restoreMkl) => (this.restore, this.restoreMkl) = (restore, restoreMkl);

    /// <summary>
    /// Switches the calling thread to one intra-op thread when <paramref name="paddedElements"/> is below
    /// <see cref="SingleThreadBelowElements"/>; disposing the result restores the thread's previous setting.
    /// </summary>
    public static IntraOpThreads ForWork(long paddedElements)
    {
        if (paddedElements >= SingleThreadBelowElements || SetNumThreads == null || GetMaxThreads == null) return default;
        _ = torch.get_num_threads();            // libtorch's once-per-thread initialisation first, so it cannot undo ours
        int previous = GetMaxThreads();
        if (previous <= 1) return default;
        SetNumThreads(1);
        int previousMkl = MklSetNumThreadsLocal?.Invoke(1) ?? -1;
        return new IntraOpThreads(previous, previousMkl);
    }

    /// <summary>Restores the calling thread's intra-op thread count.</summary>
    public void Dispose()
    {
        if (restore <= 1) return;
        SetNumThreads!(restore);
        if (restoreMkl >= 0) MklSetNumThreadsLocal!(restoreMkl);
    }

    /// <summary>Whether the OpenMP runtime was found (the scope can take effect).</summary>
    internal static bool Available => SetNumThreads != null;

    /// <summary>The number of threads MKL's GEMMs would use on the calling thread (0 when libtorch has no MKL).</summary>
    internal static int CurrentThreadMklMaxThreads => MklGetMaxThreads?.Invoke() ?? 0;

    /// <summary>The calling thread's OpenMP team size (0 when the runtime was not found).</summary>
    internal static int CurrentThreadMaxThreads => GetMaxThreads?.Invoke() ?? 0;
}
