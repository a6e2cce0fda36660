using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using TorchSharp;

namespace SetML.Training;

/// <summary>
/// Lets libtorch's MKL use its AVX-512 kernels on AMD processors that have AVX-512 (Zen 4 and later), where MKL's own
/// dispatch picks an AVX2 path: every float32 matrix product under SetML's Linear layers and attention runs on it.
/// </summary>
/// <remarks>
/// <para>
/// libtorch (TorchSharp's CPU package) links Intel's MKL for BLAS. MKL picks its kernels once, at its first BLAS call,
/// from the processor; on an AMD processor it records the generic type and routes GEMMs to an AVX2 "Zen" kernel even
/// where the processor executes AVX-512. On the project's AMD EPYC (Zen 5) machines that kernel reaches 88 GFLOP/s per
/// core on the Set Transformer's 3000 × 128 × 128 product; MKL's AVX-512 kernel, which uses only the instruction sets
/// the processor reports (AVX-512 F, CD, BW, DQ, VL), reaches 200–215 GFLOP/s on the same product with the same results
/// (bench <c>gemm</c>, docs/performance.md).
/// </para>
/// <para>
/// MKL keeps its choice in an internal variable that its exported <c>mkl_serv_cpu_detect</c> reads and returns; while it
/// is unset (-1) MKL has not run yet. When the SetML assembly is loaded, on such a processor, SetML loads libtorch,
/// finds that variable through the two RIP-relative references of <c>mkl_serv_cpu_detect</c>'s first instructions
/// (both must point to the same writable address inside libtorch_cpu.so), checks that it is still unset, lets MKL run
/// its complete detection (<c>mkl_serv_cpu_detect</c>, which also settles the type of MKL's vector math library: left
/// unset, a later vector-math call re-runs detection and resets the BLAS type under kernels already chosen, which
/// crashes), and then changes the BLAS type from the generic one MKL records for AMD to its AVX-512 type with an
/// atomic compare-exchange, before any BLAS call. Nothing is changed when any check fails (another libtorch build,
/// another processor, MKL choosing a type of its own), when MKL has already run (libtorch's first matrix product ran
/// before SetML was loaded: changing the choice afterwards mixes kernels), when the user set <c>MKL_CBWR</c> or
/// <c>MKL_ENABLE_INSTRUCTIONS</c> (an explicit choice of MKL's code path), or when <c>SETML_MKL_AVX512=0</c>.
/// <c>Adjustment.State</c> says what happened.
/// </para>
/// <para>
/// Results are not bitwise those of the AVX2 kernel (the products sum in another order; both are float32-accurate),
/// and one process always uses one kernel, so a seed still gives the same model run after run on the same machine.
/// </para>
/// </remarks>
internal static class MklCodePath
{
    /// <summary>The environment variable that turns the selection off (value <c>0</c>).</summary>
    public const string OptOutVariable = "SETML_MKL_AVX512";

    /// <summary>MKL's processor type for its AVX-512 (Skylake-SP instruction set) kernels.</summary>
    public const int Avx512Type = 7;

    /// <summary>MKL's generic processor type: what it records for an AMD processor (whose GEMMs it then sends to its Zen path).</summary>
    public const int GenericType = 0;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CpuDetectFn();

    /// <summary>The selection, run once when the SetML assembly loads; its <c>State</c> says what it did in this process.</summary>
    internal static readonly LoadTimeAdjustment Adjustment = new(Apply);

    /// <summary>Why the selection does not apply to this process and processor, or null when it does.</summary>
    internal static string? NotApplicableBecause(Func<string, string?> environment)
    {
        if (LoadTimeAdjustment.TurnedOff(environment, OptOutVariable) is string off) return off;
        if (!string.IsNullOrEmpty(environment("MKL_CBWR")) || !string.IsNullOrEmpty(environment("MKL_ENABLE_INSTRUCTIONS")))
            return "MKL_CBWR or MKL_ENABLE_INSTRUCTIONS is set: MKL's code path is the user's choice";
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return "not Linux x64";
        if (!IsAmd()) return "not an AMD processor (MKL chooses AVX-512 itself where it applies)";
        if (!(Avx512F.IsSupported && Avx512F.VL.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512CD.IsSupported))
            return "the processor (or the OS) lacks AVX-512 F/CD/BW/DQ/VL";
        return null;
    }

    private static string Apply()
    {
        if (NotApplicableBecause(LoadTimeAdjustment.Environment) is string why)
            return $"not applied: {why}";
        _ = torch.get_num_threads();                        // loads libtorch (no BLAS call: MKL has not chosen yet)
        var maps = MappedRegion.Read();
        var torchCpu = MappedRegion.TorchCpu(maps);
        if (torchCpu == null || !NativeLibrary.TryLoad(torchCpu, out var library)) return "not applied: libtorch_cpu.so is not loaded";
        if (!NativeLibrary.TryGetExport(library, "mkl_serv_cpu_detect", out var detect)) return "not applied: libtorch has no MKL";
        if (FindCpuTypeVariable(detect) is not IntPtr variable) return "not applied: mkl_serv_cpu_detect has an unknown layout";
        long address = variable.ToInt64();
        if (!maps.Any(m => m.Path == torchCpu && m.Writable && address >= m.Start && address + 4 <= m.End))
            return "not applied: MKL's processor type is not in a writable segment of libtorch_cpu.so";
        int before = Marshal.ReadInt32(variable);
        if (before != -1) return $"not applied: MKL had already chosen its code path (type {before}) before SetML was loaded";
        // MKL's complete detection first (its BLAS and VML types and whatever else it sets up): a later VML call would
        // otherwise run it and reset the BLAS type under kernels already chosen for AVX-512, which crashes.
        int detected = Marshal.GetDelegateForFunctionPointer<CpuDetectFn>(detect)();
        if (detected != GenericType) return $"not applied: MKL chose processor type {detected} itself";
        int previous = CompareExchange(variable, Avx512Type, GenericType);
        if (previous != GenericType) return $"not applied: MKL's processor type changed to {previous} meanwhile";
        return "applied: MKL uses its AVX-512 kernels (AMD processor with AVX-512)";
    }

    /// <summary>
    /// The address of MKL's processor-type variable, from <c>mkl_serv_cpu_detect</c>'s opening
    /// <c>cmpl $0, v(%rip); js; mov v(%rip), %eax; ret</c> (both references to the same <c>v</c>), or null.
    /// </summary>
    internal static IntPtr? FindCpuTypeVariable(IntPtr function)
    {
        var code = new byte[16];
        Marshal.Copy(function, code, 0, code.Length);
        return FindCpuTypeVariable(code, function.ToInt64()) is long v ? new IntPtr(v) : null;
    }

    /// <summary>The decoding of <see cref="FindCpuTypeVariable(IntPtr)"/> on the function's first 16 bytes at <paramref name="address"/>.</summary>
    internal static long? FindCpuTypeVariable(ReadOnlySpan<byte> code, long address)
    {
        if (code.Length < 16) return null;
        // 83 3D d32 00 : cmpl $0x0, d32(%rip)      (7 bytes)
        // 78 xx        : js   (detection path)      (2 bytes)
        // 8B 05 d32    : mov  d32(%rip), %eax        (6 bytes)
        // C3           : ret
        if (code[0] != 0x83 || code[1] != 0x3D || code[6] != 0x00 || code[7] != 0x78 || code[9] != 0x8B || code[10] != 0x05 || code[15] != 0xC3)
            return null;
        long compared = address + 7 + BitConverter.ToInt32(code.Slice(2, 4));
        long loaded = address + 15 + BitConverter.ToInt32(code.Slice(11, 4));
        return compared == loaded ? compared : null;
    }

    private static unsafe int CompareExchange(IntPtr location, int value, int comparand)
        => Interlocked.CompareExchange(ref *(int*)location, value, comparand);

    private static bool IsAmd()
    {
        if (!X86Base.IsSupported) return false;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<int> vendor = stackalloc int[] { ebx, edx, ecx };
        return System.Text.Encoding.ASCII.GetString(MemoryMarshal.AsBytes(vendor)) == "AuthenticAMD";
    }
}
