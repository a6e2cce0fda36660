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
        Func<long, float>? loop = Avx512F.IsSupported ? Chains<Lanes512, Vector512<float>> : Fma.IsSupported ? Chains<Lanes256, Vector256<float>> : null;
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
    // vector registers). The lane types' static methods are inlined into each specialisation.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Chains<TLanes, TVector>(long iterations) where TLanes : ILanes<TVector> where TVector : struct
    {
        var m = TLanes.Create(0.9999999f);
        var c = TLanes.Create(1e-7f);
        TVector a0 = TLanes.Create(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = TLanes.Fma(a0, m, c); a1 = TLanes.Fma(a1, m, c); a2 = TLanes.Fma(a2, m, c); a3 = TLanes.Fma(a3, m, c);
            a4 = TLanes.Fma(a4, m, c); a5 = TLanes.Fma(a5, m, c); a6 = TLanes.Fma(a6, m, c); a7 = TLanes.Fma(a7, m, c);
            a8 = TLanes.Fma(a8, m, c); a9 = TLanes.Fma(a9, m, c); a10 = TLanes.Fma(a10, m, c); a11 = TLanes.Fma(a11, m, c);
        }
        return TLanes.Sum(a0) + TLanes.Sum(a1) + TLanes.Sum(a2) + TLanes.Sum(a3) + TLanes.Sum(a4) + TLanes.Sum(a5)
             + TLanes.Sum(a6) + TLanes.Sum(a7) + TLanes.Sum(a8) + TLanes.Sum(a9) + TLanes.Sum(a10) + TLanes.Sum(a11);
    }

    /// <summary>The three vector operations <see cref="Chains{TLanes, TVector}"/> needs, for one vector width.</summary>
    private interface ILanes<TVector>
    {
        static abstract TVector Create(float value);
        static abstract TVector Fma(TVector a, TVector b, TVector c);
        static abstract float Sum(TVector v);
    }

    private readonly struct Lanes512 : ILanes<Vector512<float>>
    {
        public static Vector512<float> Create(float value) => Vector512.Create(value);
        public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Avx512F.FusedMultiplyAdd(a, b, c);
        public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    }

    private readonly struct Lanes256 : ILanes<Vector256<float>>
    {
        public static Vector256<float> Create(float value) => Vector256.Create(value);
        public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c);
        public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    }
}
