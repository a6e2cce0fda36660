using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SetML.Samples.Bench;

/// <summary>
/// The float32 FMA peak of one core, measured: twelve independent chains of fused multiply-adds (enough to cover the
/// FMA latency on two pipes), with the widest vectors the processor has (AVX-512, else AVX2). The <c>st_train</c> row
/// reports its GFLOP/s as a share of this figure instead of a number written down for another machine.
/// </summary>
public static class FmaPeak
{
    private static readonly Lazy<(double Gflops, string Isa)?> Measured = new(Measure);

    /// <summary>GFLOP/s of one core and the instruction set used, or null on a processor without FMA.</summary>
    public static (double Gflops, string Isa)? PerCore => Measured.Value;

    /// <summary>One line for the bench header.</summary>
    public static string Describe()
        => PerCore is var (g, isa) ? $"FMA peak of one core (measured, {isa}): {g:F0} GFLOP/s" : "FMA peak: no FMA instructions on this processor";

    private static (double, string)? Measure()
    {
        const long iterations = 20_000_000;
        Func<long, float>? loop = Avx512F.IsSupported ? Chains512 : Fma.IsSupported ? Chains256 : null;
        if (loop == null) return null;
        int lanes = Avx512F.IsSupported ? 16 : 8;
        loop(iterations / 20);                                  // compiled and warm
        double best = double.MaxValue;
        for (int r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            float sum = loop(iterations);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
            if (!float.IsFinite(sum)) throw new InvalidOperationException("FMA peak loop diverged.");
        }
        return (iterations * 12.0 * lanes * 2 / best / 1e9, Avx512F.IsSupported ? "AVX-512" : "AVX2");
    }

    // No call inside: the twelve accumulators stay in registers (a call would spill them, as SysV has no callee-saved
    // vector registers).
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Chains512(long iterations)
    {
        var m = Vector512.Create(0.9999999f);
        var c = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, c); a1 = Avx512F.FusedMultiplyAdd(a1, m, c); a2 = Avx512F.FusedMultiplyAdd(a2, m, c);
            a3 = Avx512F.FusedMultiplyAdd(a3, m, c); a4 = Avx512F.FusedMultiplyAdd(a4, m, c); a5 = Avx512F.FusedMultiplyAdd(a5, m, c);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, c); a7 = Avx512F.FusedMultiplyAdd(a7, m, c); a8 = Avx512F.FusedMultiplyAdd(a8, m, c);
            a9 = Avx512F.FusedMultiplyAdd(a9, m, c); a10 = Avx512F.FusedMultiplyAdd(a10, m, c); a11 = Avx512F.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Chains256(long iterations)
    {
        var m = Vector256.Create(0.9999999f);
        var c = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c); a2 = Fma.MultiplyAdd(a2, m, c);
            a3 = Fma.MultiplyAdd(a3, m, c); a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c);
            a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c); a8 = Fma.MultiplyAdd(a8, m, c);
            a9 = Fma.MultiplyAdd(a9, m, c); a10 = Fma.MultiplyAdd(a10, m, c); a11 = Fma.MultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
