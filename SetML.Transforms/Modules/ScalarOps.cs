using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Tensor–number arithmetic with an explicit, disposed <see cref="Scalar"/>. SetML never converts a number to a
/// <see cref="Scalar"/> implicitly (<c>t * 0.5</c>, <c>t.masked_fill(m, 0)</c>): in TorchSharp 0.107 such a temporary
/// holds a native handle that a garbage collection on another thread can free (finalize) while libtorch still reads
/// it — random <c>toFloat (Scalar.h)</c> crashes. Each method here keeps its Scalar alive until the native call has
/// returned, then frees it. <c>SetML.Tests/Reliability/ImplicitScalarTests</c> scans the compiled IL so that no
/// implicit conversion comes back.
/// </summary>
/// <remarks>
/// An integral argument makes an integral Scalar, as an implicit <c>int</c> conversion would: <c>count.SubScalar(1)</c>
/// keeps an int64 tensor int64 (it can index), while <c>x.MulScalar(0.5)</c> keeps a float tensor float.
/// </remarks>
public static class ScalarOps
{
    // Rooted for the life of the process (never finalized, shared read-only by all threads): the alpha of additions, the
    // exponent of squares and the fill values of masked pooling. TorchSharp's own Tensor + Tensor is add(other, 1) and
    // square() is pow(2), each with an implicit temporary inside, which the GC can finalize while libtorch still reads
    // it; and a Scalar made per call is one more finalizable object per prediction.
    internal static readonly Scalar One = 1.ToScalar(), Two = 2.ToScalar(), Zero = 0.ToScalar(),
        MinusInfinity = float.NegativeInfinity.ToScalar(), PlusInfinity = float.PositiveInfinity.ToScalar();

    /// <summary><c>a + b</c> (TorchSharp's <c>+</c> passes an implicit temporary alpha = 1 to libtorch).</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>t²</c> elementwise (TorchSharp's <c>square()</c> is <c>pow(2)</c> with an implicit temporary).</summary>
    public static Tensor Squared(this Tensor t) => t.pow(Two);

    /// <summary><c>t · v</c>.</summary>
    public static Tensor MulScalar(this Tensor t, double v) { using var s = v.ToScalar(); return t.mul(s); }

    /// <summary><c>t ← t · v</c> in place (returns <paramref name="t"/>).</summary>
    public static Tensor MulScalarInPlace(this Tensor t, double v) { using var s = v.ToScalar(); return t.mul_(s); }

    /// <summary><c>t / v</c>.</summary>
    public static Tensor DivScalar(this Tensor t, double v) { using var s = v.ToScalar(); return t.div(s); }

    /// <summary><c>t + v</c>.</summary>
    public static Tensor AddScalar(this Tensor t, double v) { using var s = v.ToScalar(); return t.add(s, One); }

    /// <summary><c>t + v</c> with an integral Scalar (an int64 tensor stays int64).</summary>
    public static Tensor AddScalar(this Tensor t, long v) { using var s = v.ToScalar(); return t.add(s, One); }

    /// <summary><c>t − v</c>.</summary>
    public static Tensor SubScalar(this Tensor t, double v) { using var s = v.ToScalar(); return t.sub(s); }

    /// <summary><c>t − v</c> with an integral Scalar (an int64 tensor stays int64).</summary>
    public static Tensor SubScalar(this Tensor t, long v) { using var s = v.ToScalar(); return t.sub(s); }

    /// <summary><c>v − t</c>.</summary>
    public static Tensor RSubScalar(this Tensor t, double v) { using var s = v.ToScalar(); return t.neg().add_(s, One); }

    /// <summary><c>max(t, v)</c> elementwise.</summary>
    public static Tensor ClampMinScalar(this Tensor t, double v) { using var s = v.ToScalar(); return t.clamp_min(s); }

    /// <summary><c>max(t, v)</c> elementwise with an integral Scalar (an int64 tensor stays int64).</summary>
    public static Tensor ClampMinScalar(this Tensor t, long v) { using var s = v.ToScalar(); return t.clamp_min(s); }

    /// <summary><c>min(t, v)</c> elementwise.</summary>
    public static Tensor ClampMaxScalar(this Tensor t, double v) { using var s = v.ToScalar(); return t.clamp_max(s); }

    /// <summary><c>min(t, v)</c> elementwise with an integral Scalar (an int64 tensor stays int64).</summary>
    public static Tensor ClampMaxScalar(this Tensor t, long v) { using var s = v.ToScalar(); return t.clamp_max(s); }

    /// <summary><c>t ← v</c> everywhere, in place (returns <paramref name="t"/>).</summary>
    public static Tensor FillScalarInPlace(this Tensor t, double v) { using var s = v.ToScalar(); return t.fill_(s); }

    /// <summary>A tensor shaped, typed and placed like <paramref name="like"/>, filled with <paramref name="v"/>.</summary>
    public static Tensor FullLike(Tensor like, double v) { using var s = v.ToScalar(); return torch.full_like(like, s); }

    /// <summary><c>min(max(t, lo), hi)</c> elementwise.</summary>
    public static Tensor ClampScalar(this Tensor t, double lo, double hi)
    {
        using Scalar a = lo.ToScalar(), b = hi.ToScalar();
        return t.clamp(a, b);
    }

    /// <summary><c>t = v</c> elementwise (bool).</summary>
    public static Tensor EqScalar(this Tensor t, long v) { using var s = v.ToScalar(); return t.eq(s); }

    /// <summary><c>t ≥ v</c> elementwise (bool).</summary>
    public static Tensor GeScalar(this Tensor t, long v) { using var s = v.ToScalar(); return t.ge(s); }

    /// <summary><c>t &gt; v</c> elementwise (bool).</summary>
    public static Tensor GtScalar(this Tensor t, double v) { using var s = v.ToScalar(); return t.gt(s); }

    /// <summary><paramref name="t"/> with <paramref name="v"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor MaskedFillScalar(this Tensor t, Tensor mask, double v) { using var s = v.ToScalar(); return t.masked_fill(mask, s); }

    /// <summary><c>[0, 1, …, n − 1]</c> (int64 unless <paramref name="dtype"/>), as <c>torch.arange(n)</c>.</summary>
    public static Tensor Arange(long n, ScalarType? dtype = null, Device? device = null)
    {
        using var s = n.ToScalar();
        return torch.arange(Zero, s, One, dtype: dtype, device: device);
    }

    /// <summary>A tensor of <paramref name="shape"/> filled with <paramref name="v"/> (float32 unless <paramref name="dtype"/>).</summary>
    public static Tensor Full(long[] shape, double v, ScalarType? dtype = null, Device? device = null)
    {
        using var s = v.ToScalar();
        return torch.full(shape, s, dtype: dtype ?? ScalarType.Float32, device: device);
    }
}
