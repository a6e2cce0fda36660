using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Foundation;

/// <summary>
/// <see cref="MklCodePath"/>: MKL's AVX-512 kernels on AMD processors with AVX-512, found only through the exact
/// instruction pattern of <c>mkl_serv_cpu_detect</c>, never against the user's choice, and with products as accurate as
/// MKL's own path.
/// </summary>
[TestClass]
public sealed class MklCodePathTests
{
    // cmpl $0, d(%rip); js +7; mov d'(%rip), %eax; ret — with d' = d - 8 so that both reach the same address.
    private static byte[] Prologue(int compareDisplacement, int loadDisplacement)
    {
        var code = new byte[16];
        code[0] = 0x83; code[1] = 0x3D; BitConverter.GetBytes(compareDisplacement).CopyTo(code, 2); code[6] = 0x00;
        code[7] = 0x78; code[8] = 0x07;
        code[9] = 0x8B; code[10] = 0x05; BitConverter.GetBytes(loadDisplacement).CopyTo(code, 11);
        code[15] = 0xC3;
        return code;
    }

    [TestMethod]
    public void TheVariableIsWhereBothInstructionsOfTheDetectorPoint()
    {
        const long at = 0x7f00_0000_0000;
        Assert.AreEqual(at + 7 + 0x1000, MklCodePath.FindCpuTypeVariable(Prologue(0x1000, 0x1000 - 8), at));
        Assert.AreEqual(at + 7 - 0x20, MklCodePath.FindCpuTypeVariable(Prologue(-0x20, -0x28), at));
    }

    [TestMethod]
    public void AnyOtherCodeIsLeftAlone()
    {
        const long at = 0x7f00_0000_0000;
        Assert.IsNull(MklCodePath.FindCpuTypeVariable(Prologue(0x1000, 0x1000), at), "references to two different addresses");
        foreach (int i in new[] { 0, 1, 6, 7, 9, 10, 15 })
        {
            var code = Prologue(0x1000, 0x1000 - 8);
            code[i] ^= 0x01;
            Assert.IsNull(MklCodePath.FindCpuTypeVariable(code, at), $"byte {i} changed");
        }
        Assert.IsNull(MklCodePath.FindCpuTypeVariable(Prologue(0x1000, 0x1000 - 8).AsSpan(0, 15), at), "too short");
    }

    [TestMethod]
    public void TheUsersChoiceOfMklsCodePathIsKept()
    {
        static Func<string, string?> Env(string name, string value) => n => n == name ? value : null;
        StringAssert.Contains(MklCodePath.NotApplicableBecause(Env(MklCodePath.OptOutVariable, "0")), MklCodePath.OptOutVariable);
        StringAssert.Contains(MklCodePath.NotApplicableBecause(Env("MKL_CBWR", "AVX2")), "MKL_CBWR");
        StringAssert.Contains(MklCodePath.NotApplicableBecause(Env("MKL_ENABLE_INSTRUCTIONS", "AVX2")), "MKL_ENABLE_INSTRUCTIONS");
    }

    [TestMethod]
    public void ThisProcessUsesTheAvx512KernelsWhereTheyApplyAndProductsAreExact()
    {
        // The test host touches SetML before any tensor operation (TestHostSetup), as an application does.
        string? why = MklCodePath.NotApplicableBecause(LoadTimeAdjustment.Environment);
        Assert.AreEqual(why == null, MklCodePath.Adjustment.Applied, TorchRuntime.MklCodePath);
        StringAssert.StartsWith(TorchRuntime.MklCodePath, MklCodePath.Adjustment.Applied ? "applied" : "not applied");

        // Products through the selected kernels (single-threaded and OpenMP-parallel shapes, both transpositions the
        // Linear layers use) against a double-precision product of the same float inputs.
        foreach (var (m, k, n) in new[] { (37, 5, 11), (3000, 128, 128), (200_000, 3, 8) })
        {
            using var scope = NewDisposeScope();
            var generator = new Generator(11);
            var a = randn(m, k, generator: generator);
            var w = randn(n, k, generator: generator);
            var product = nn.functional.linear(a, w);
            var exact = a.to_type(ScalarType.Float64).matmul(w.to_type(ScalarType.Float64).t());
            double error = (product.to_type(ScalarType.Float64) - exact).abs().max().item<double>();
            Assert.IsTrue(error < 1e-4 * Math.Sqrt(k), $"[{m}×{k}]·[{k}×{n}]: max error {error}");
        }
        // A vector-math call after the products (it must not reset MKL's choice, which crashed before the fix).
        using (var x = linspace(-3, 3, 100_000)) using (var y = x.exp()) Assert.IsTrue(y.isfinite().all().item<bool>());
        using (var a = randn(8, 3)) using (var b = randn(3, 100_000)) using (var c = a.matmul(b)) Assert.AreEqual(8 * 100_000, c.numel());
    }
}
