using SetML.Training;
using SetML.Transforms;
using TorchSharp;

namespace SetML.Tests.Foundation;

/// <summary>
/// glibc allocator settings at start-up (never against the user's own choice) and the per-thread single intra-op
/// thread of small prediction batches.
/// </summary>
[TestClass]
public sealed class ThreadingAndAllocatorTests
{
    [TestMethod]
    public void AllocatorSettingsRespectTheUsersChoice()
    {
        Assert.IsTrue(AllocatorSettings.ShouldApply(_ => null));
        Assert.IsTrue(AllocatorSettings.ShouldApply(name => name == AllocatorSettings.OptOutVariable ? "1" : null));
        Assert.IsFalse(AllocatorSettings.ShouldApply(name => name == AllocatorSettings.OptOutVariable ? "0" : null));
        foreach (var variable in new[] { "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES" })
            Assert.IsFalse(AllocatorSettings.ShouldApply(name => name == variable ? "65536" : null), variable);
        if (OperatingSystem.IsLinux() && AllocatorSettings.ShouldApply(name => OpenMPSettings.ReadNative(name)))
            Assert.IsTrue(AllocatorSettings.Applied, "glibc's mallopt should have been called at start-up");
    }

    [TestMethod]
    public void SmallWorkRunsOnTheCallingThreadAloneAndRestoresIt()
    {
        using var t = torch.ones(2);                      // libtorch (and its OpenMP runtime) loaded
        if (!IntraOpThreads.Available) Assert.Inconclusive("No OpenMP runtime found in this process (not a libgomp libtorch).");
        int before = torch.get_num_threads();
        torch.set_num_threads(2);
        try
        {
            Assert.AreEqual(2, IntraOpThreads.CurrentThreadMaxThreads);
            int mklBefore = IntraOpThreads.CurrentThreadMklMaxThreads;   // 0 where libtorch has no MKL
            int otherThread = 0;
            using (IntraOpThreads.ForWork(IntraOpThreads.SingleThreadBelowElements - 1))
            {
                Assert.AreEqual(1, IntraOpThreads.CurrentThreadMaxThreads, "small work: one thread");
                if (mklBefore > 0) Assert.AreEqual(1, IntraOpThreads.CurrentThreadMklMaxThreads, "small work: MKL's GEMMs on one thread too");
                var other = new Thread(() => { _ = torch.get_num_threads(); otherThread = IntraOpThreads.CurrentThreadMaxThreads; });
                other.Start();
                other.Join();
            }
            Assert.AreEqual(2, otherThread, "another thread keeps libtorch's setting");
            Assert.AreEqual(2, IntraOpThreads.CurrentThreadMaxThreads, "restored after the scope");
            Assert.AreEqual(mklBefore, IntraOpThreads.CurrentThreadMklMaxThreads, "MKL's team restored after the scope");
            Assert.AreEqual(2, torch.get_num_threads(), "libtorch's own setting is untouched");
            using (IntraOpThreads.ForWork(IntraOpThreads.SingleThreadBelowElements))
                Assert.AreEqual(2, IntraOpThreads.CurrentThreadMaxThreads, "large work keeps the team");
        }
        finally { torch.set_num_threads(before); }
    }
}
