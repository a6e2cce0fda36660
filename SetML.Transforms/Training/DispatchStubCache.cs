using System.Runtime.InteropServices;
using TorchSharp;

namespace SetML.Training;

/// <summary>
/// Makes libtorch's CPU dispatch stubs keep the kernel they choose, as they were written to: in libtorch 2.x every
/// call chooses it again and writes a process-wide variable, which makes threads that run operations at the same time
/// slow each other down.
/// </summary>
/// <remarks>
/// <para>
/// Every element-wise operation, reduction and copy in libtorch finds its CPU kernel (AVX-512, AVX2 or default)
/// through a <c>DispatchStub</c>: a global object per operation that caches the kernel in its first field. In the
/// libtorch that TorchSharp 0.107 ships (2.10), <c>DispatchStubImpl::try_get_call_ptr</c> stores the wrong value after
/// choosing: <c>cpu_dispatch_ptr.store(fptr)</c>, where <c>fptr</c> is still the null it has just loaded, instead of
/// the kernel it chose. The cache never fills, so every call chooses again and writes the global stub. The stubs lie
/// next to each other in libtorch's data segment. So two threads running operations at the same time (two
/// <c>PredictionEngine</c>s, two cursors, a web server's requests) pass those cache lines back and forth between
/// their cores on every operation.
/// </para>
/// <para>
/// The cost was measured with the same in-place multiplication of 64 floats on two threads. It took 391–402 ns per
/// operation on one thread and 527–766 ns per thread on two. With the fix it takes 374–384 ns on one thread and
/// 382–400 ns on two. perf showed the two-thread time in the stub's load of its own cache line, at 19.5 % of all
/// samples against 1.6 % on one thread. The PyTorch 1.13 that the bench compares with has the older, correct code.
/// </para>
/// <para>
/// When the SetML assembly is loaded, and only if libtorch was not loaded before (so no other thread can be running
/// its code), SetML loads libtorch. It finds the exported <c>try_get_call_ptr</c> and looks in its first
/// <see cref="SearchLength"/> bytes for the exact instruction sequence that follows the call to
/// <c>try_choose_cpu_impl</c>: <see cref="Site"/>, exactly once, after a <c>call</c>. It then rewrites that
/// sequence's last instruction, <c>movq $0, (%rdi)</c>, as <c>mov %rax, (%rdi)</c> plus a 4-byte no-op
/// (<see cref="FixedStore"/>). The store then keeps the kernel pointer that the call returned in <c>rax</c>, which is
/// the upstream code's intent, so each stub chooses once.
/// </para>
/// <para>
/// The code page is made writable (and stays executable) only for that write, and then returned to read and execute.
/// Where a W^X policy refuses writable code, nothing is changed.
/// </para>
/// <para>
/// SetML changes nothing in these cases:
/// <list type="bullet">
/// <item>when any check fails (another libtorch build, a version with the bug fixed, another architecture);</item>
/// <item>when the page cannot be made writable;</item>
/// <item>when <c>SETML_DISPATCH_STUB_CACHE=0</c>.</item>
/// </list>
/// </para>
/// <para>
/// Results do not change: the stub returns the same kernel, whether it comes from the cache or is chosen again.
/// <c>Adjustment.State</c> says what happened in this process.
/// </para>
/// </remarks>
internal static class DispatchStubCache
{
    /// <summary>The environment variable that turns the fix off (value <c>0</c>).</summary>
    public const string OptOutVariable = "SETML_DISPATCH_STUB_CACHE";

    /// <summary>The exported function that holds the faulty store: <c>at::native::DispatchStubImpl::try_get_call_ptr</c>.</summary>
    public const string FunctionSymbol = "_ZN2at6native16DispatchStubImpl16try_get_call_ptrEN3c1010DeviceTypeEPvS4_S4_";

    /// <summary>How many bytes from the function's start are searched for <see cref="Site"/>.</summary>
    public const int SearchLength = 1024;

    /// <summary>
    /// The instructions after <c>call try_choose_cpu_impl</c>, whose <c>std::variant&lt;void*, ErrorType&gt;</c> result
    /// is in rax (the kernel) and rdx (the alternative's index):
    /// <code>
    /// 48 89 54 24 38         mov  %rdx, 0x38(%rsp)
    /// 80 7C 24 38 01         cmpb $1, 0x38(%rsp)      ; index 1 is ErrorType
    /// 48 89 44 24 30         mov  %rax, 0x30(%rsp)
    /// 74 0C                  je   +12                 ; an error: no store
    /// 48 8B 7C 24 08         mov  0x8(%rsp), %rdi     ; the stub (cpu_dispatch_ptr is its first field)
    /// 48 C7 07 00 00 00 00   movq $0, (%rdi)          ; cpu_dispatch_ptr.store(fptr), fptr == nullptr
    /// </code>
    /// </summary>
    internal static ReadOnlySpan<byte> Site =>
    [
        0x48, 0x89, 0x54, 0x24, 0x38,
        0x80, 0x7C, 0x24, 0x38, 0x01,
        0x48, 0x89, 0x44, 0x24, 0x30,
        0x74, 0x0C,
        0x48, 0x8B, 0x7C, 0x24, 0x08,
        0x48, 0xC7, 0x07, 0x00, 0x00, 0x00, 0x00,
    ];

    /// <summary>Where the faulty store starts within <see cref="Site"/>.</summary>
    internal const int StoreOffset = 22;

    /// <summary>What replaces the store: <c>mov %rax, (%rdi)</c> (48 89 07) and the 4-byte no-op <c>nopl 0(%rax)</c>.</summary>
    internal static ReadOnlySpan<byte> FixedStore => [0x48, 0x89, 0x07, 0x0F, 0x1F, 0x40, 0x00];

    /// <summary>The fix, run once when the SetML assembly loads; its <c>State</c> says what it did in this process.</summary>
    internal static readonly LoadTimeAdjustment Adjustment = new(Apply);

    /// <summary>Why the fix does not apply to this process, or null when it may.</summary>
    internal static string? NotApplicableBecause(Func<string, string?> environment)
    {
        if (LoadTimeAdjustment.TurnedOff(environment, OptOutVariable) is string off) return off;
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return "not Linux x64";
        return null;
    }

    /// <summary>
    /// The offset in <paramref name="code"/> of the faulty store: the one occurrence of <see cref="Site"/>, right after
    /// a 5-byte <c>call</c>; null when the sequence is missing, appears twice, or does not follow a call.
    /// </summary>
    internal static int? FindStore(ReadOnlySpan<byte> code)
    {
        int at = code.IndexOf(Site);
        if (at < 5 || code[at - 5] != 0xE8) return null;
        if (code[(at + 1)..].IndexOf(Site) >= 0) return null;
        return at + StoreOffset;
    }

    private static string Apply()
    {
        if (NotApplicableBecause(LoadTimeAdjustment.Environment) is string why)
            return $"not applied: {why}";
        if (MappedRegion.TorchCpu(MappedRegion.Read()) != null)
            return "not applied: libtorch was loaded before SetML (its code may be running on other threads)";
        _ = torch.get_num_threads();                        // loads libtorch; no operation has run yet
        var maps = MappedRegion.Read();
        var torchCpu = MappedRegion.TorchCpu(maps);
        if (torchCpu == null || !NativeLibrary.TryLoad(torchCpu, out var library)) return "not applied: libtorch_cpu.so is not loaded";
        if (!NativeLibrary.TryGetExport(library, FunctionSymbol, out var function))
            return "not applied: this libtorch has no DispatchStubImpl::try_get_call_ptr";
        long start = function.ToInt64();
        var region = maps.FirstOrDefault(m => m.Path == torchCpu && m.Executable && start >= m.Start && start < m.End);
        if (region == null) return "not applied: try_get_call_ptr is not in an executable segment of libtorch_cpu.so";
        var code = new byte[(int)Math.Min(SearchLength, region.End - start)];
        Marshal.Copy(function, code, 0, code.Length);
        if (FindStore(code) is not int offset)
            return "not applied: try_get_call_ptr has another layout (a libtorch with the store fixed, or another build)";
        return Patch(new IntPtr(start + offset))
            ? "applied: libtorch's CPU dispatch stubs cache their kernels"
            : $"not applied: the code page could not be made writable (errno {Marshal.GetLastPInvokeError()})";
    }

    /// <summary>
    /// Writes <see cref="FixedStore"/> at <paramref name="store"/> with the page(s) writable only meanwhile, or leaves
    /// them untouched and returns false where they cannot be made writable while staying executable.
    /// </summary>
    /// <remarks>
    /// Never read-write without execute: where W^X policies refuse writable code (SELinux's execmod, PaX), a page made
    /// read-write and written would then be refused its execute right back, and libtorch's next call into it would
    /// crash. Read-write-execute is refused there, and nothing is changed.
    /// </remarks>
    private static unsafe bool Patch(IntPtr store)
    {
        long page = Environment.SystemPageSize;
        long first = store.ToInt64() & ~(page - 1);
        long last = (store.ToInt64() + FixedStore.Length - 1) & ~(page - 1);
        var pages = new IntPtr(first);
        var length = (nuint)(last - first + page);
        if (Libc.mprotect(pages, length, Libc.Read | Libc.Write | Libc.Execute) != 0) return false;
        FixedStore.CopyTo(new Span<byte>((void*)store, FixedStore.Length));
        // Back to read-execute; should that be refused, the page stays read-write-execute, which still runs.
        _ = Libc.mprotect(pages, length, Libc.Read | Libc.Execute);
        return true;
    }

    private static class Libc
    {
        public const int Read = 1, Write = 2, Execute = 4;

        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int mprotect(IntPtr address, nuint length, int protection);
    }
}
