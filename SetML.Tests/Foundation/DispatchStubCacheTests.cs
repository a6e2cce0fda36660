using System.Runtime.InteropServices;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Foundation;

/// <summary>
/// <see cref="DispatchStubCache"/>: the store of libtorch's <c>DispatchStubImpl::try_get_call_ptr</c> is rewritten only
/// where the exact instruction sequence is found once after a call, and afterwards a stub keeps its kernel (the cache
/// libtorch 2.10 leaves empty) while operations give the same results on concurrent threads.
/// </summary>
[TestClass]
public sealed class DispatchStubCacheTests
{
    // Some code, a call (E8 rel32), the site, more code.
    private static byte[] Code(int before = 40, int after = 40)
    {
        var code = new byte[before + 5 + DispatchStubCache.Site.Length + after];
        new Random(1).NextBytes(code);
        code[before] = 0xE8;
        DispatchStubCache.Site.CopyTo(code.AsSpan(before + 5));
        // Random filler must not contain another call-plus-site by chance (it cannot: the site is 29 fixed bytes).
        return code;
    }

    [TestMethod]
    public void TheStoreIsFoundRightAfterTheCallToTheChooser()
    {
        Assert.AreEqual(40 + 5 + DispatchStubCache.StoreOffset, DispatchStubCache.FindStore(Code()));
        Assert.AreEqual(5 + DispatchStubCache.StoreOffset, DispatchStubCache.FindStore(Code(before: 0, after: 0)));
        var store = Code().AsSpan(40 + 5 + DispatchStubCache.StoreOffset, 7).ToArray();
        CollectionAssert.AreEqual(new byte[] { 0x48, 0xC7, 0x07, 0, 0, 0, 0 }, store, "movq $0, (%rdi)");
        Assert.AreEqual(7, DispatchStubCache.FixedStore.Length, "the replacement has the length of the store it replaces");
    }

    [TestMethod]
    public void AnyOtherCodeIsLeftAlone()
    {
        for (int i = 0; i < DispatchStubCache.Site.Length; i++)
        {
            var code = Code();
            code[45 + i] ^= 0x01;
            Assert.IsNull(DispatchStubCache.FindStore(code), $"site byte {i} changed");
        }
        var noCall = Code();
        noCall[40] = 0x90;
        Assert.IsNull(DispatchStubCache.FindStore(noCall), "no call before the site");
        var twice = Code(after: 80);
        twice[40 + 5 + DispatchStubCache.Site.Length + 10] = 0xE8;
        DispatchStubCache.Site.CopyTo(twice.AsSpan(40 + 5 + DispatchStubCache.Site.Length + 15));
        Assert.IsNull(DispatchStubCache.FindStore(twice), "the site twice");
        var fixedAlready = Code();
        DispatchStubCache.FixedStore.CopyTo(fixedAlready.AsSpan(40 + 5 + DispatchStubCache.StoreOffset));
        Assert.IsNull(DispatchStubCache.FindStore(fixedAlready), "an already corrected (or upstream-fixed) store");
        Assert.IsNull(DispatchStubCache.FindStore(Code().AsSpan(0, 60)), "cut short");
    }

    [TestMethod]
    public void TheOptOutIsKept()
    {
        StringAssert.Contains(DispatchStubCache.NotApplicableBecause(n => n == DispatchStubCache.OptOutVariable ? "0" : null),
            DispatchStubCache.OptOutVariable);
    }

    [TestMethod]
    public void WhereLibtorchRanBeforeSetMLItsCodeIsLeftAlone()
    {
        // Another thread could be inside libtorch's code then: SetML must not rewrite it (and says why).
        var output = Path.Combine(Path.GetTempPath(), $"setml-torch-first-{Guid.NewGuid():N}.txt");
        try
        {
            var (exited, exitCode, stderr) = Reliability.ChildProcess.Run(TimeSpan.FromMinutes(2), 1, "torch-first", output);
            Assert.IsTrue(exited && exitCode == 0, $"child exited {exited} with {exitCode}: {stderr}");
            var state = File.ReadAllLines(output)[0];
            if (DispatchStubCache.NotApplicableBecause(LoadTimeAdjustment.Environment) == null)
                Assert.AreEqual("not applied: libtorch was loaded before SetML (its code may be running on other threads)", state);
            else StringAssert.StartsWith(state, "not applied");
        }
        finally { File.Delete(output); }
    }

    [TestMethod]
    public void InThisProcessStubsKeepTheirKernelAndResultsAreUnchanged()
    {
        // The test host touches SetML before any tensor operation (TestHostSetup), as an application does.
        string? why = DispatchStubCache.NotApplicableBecause(LoadTimeAdjustment.Environment);
        Assert.AreEqual(why == null, DispatchStubCache.Adjustment.Applied, TorchRuntime.DispatchStubCache);
        StringAssert.StartsWith(TorchRuntime.DispatchStubCache, DispatchStubCache.Adjustment.Applied ? "applied" : "not applied");

        // Two threads multiply at the same time (each with its own tensors) and get exact products.
        var errors = new double[2];
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            using var scope = NewDisposeScope();
            var a = arange(1, 65, dtype: ScalarType.Float32);
            var b = full(64, t + 2, dtype: ScalarType.Float32);
            for (int i = 0; i < 2000; i++)
            {
                using var p = a.mul(b);
                if (i == 1999) errors[t] = (p - a * (t + 2)).abs().max().item<float>();
            }
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());
        Assert.AreEqual(0.0, errors[0]);
        Assert.AreEqual(0.0, errors[1]);

        if (!DispatchStubCache.Adjustment.Applied) return;
        // mul's stub now holds the kernel it chose (libtorch 2.10 alone leaves it null after every call).
        var maps = MappedRegion.Read();
        var library = NativeLibrary.Load(MappedRegion.TorchCpu(maps)!);
        var stub = NativeLibrary.GetExport(library, "_ZN2at6native8mul_stubE");
        var kernel = Marshal.ReadIntPtr(stub);
        Assert.AreNotEqual(IntPtr.Zero, kernel, "the stub's cpu_dispatch_ptr is still empty");
        Assert.IsTrue(maps.Any(m => m.Executable && kernel.ToInt64() >= m.Start && kernel.ToInt64() < m.End), "the cached kernel is code");
    }
}
