using System.Text;
using TorchSharp;

namespace SetML.Tests.Foundation;

/// <summary>
/// The build marks GLIBCXX_3.4.32 weak in the output copy of libLibTorchSharp.so (build/package/SetML.TorchSharpNativeFix.targets)
/// when the system libstdc++ lacks it, and never touches the NuGet cache.
/// </summary>
[TestClass]
public sealed class NativeFixTests
{
    private const string Version = "GLIBCXX_3.4.32";

    [TestMethod]
    public void TorchSharpLoads() => Assert.AreEqual(6f, torch.ones(3).mul(2).sum().item<float>());

    [TestMethod]
    public void OutputCopyIsPatchedOnlyWhenNeeded_AndNuGetCacheIsUntouched()
    {
        if (!OperatingSystem.IsLinux()) return; // the fix only exists on Linux
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.IsTrue(File.Exists(output), output);
        bool systemHasIt = SystemLibstdcxxHas(Version);
        var outFlags = RequirementFlags(File.ReadAllBytes(output), Version);
        Assert.IsNotNull(outFlags, "libLibTorchSharp.so no longer requires " + Version + "; the fix may be obsolete");
        Assert.AreEqual(!systemHasIt, (outFlags.Value & 2) != 0, "VER_FLG_WEAK in the output copy");

        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var original = Directory.Exists(cache)
            ? Directory.GetFiles(Path.Combine(cache, "torchsharp"), "libLibTorchSharp.so", SearchOption.AllDirectories).FirstOrDefault()
            : null;
        if (original != null)
            Assert.AreEqual(0, RequirementFlags(File.ReadAllBytes(original), Version)!.Value & 2, "the NuGet cache copy was modified");
    }

    private static bool SystemLibstdcxxHas(string version)
    {
        foreach (var c in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" })
            if (File.Exists(c)) return Encoding.ASCII.GetString(File.ReadAllBytes(c)).Contains(version + "\0");
        return false;
    }

    /// <summary>vna_flags of the Vernaux entry named <paramref name="name"/> in .gnu.version_r, or null.</summary>
    internal static ushort? RequirementFlags(byte[] b, string name)
    {
        long shoff = BitConverter.ToInt64(b, 40);
        int shentsize = BitConverter.ToUInt16(b, 58), shnum = BitConverter.ToUInt16(b, 60);
        for (int s = 0; s < shnum; s++)
        {
            int sh = (int)(shoff + (long)s * shentsize);
            if (BitConverter.ToUInt32(b, sh + 4) != 0x6ffffffe) continue;
            int off = (int)BitConverter.ToInt64(b, sh + 24), count = (int)BitConverter.ToUInt32(b, sh + 44);
            int str = (int)BitConverter.ToInt64(b, (int)(shoff + BitConverter.ToUInt32(b, sh + 40) * shentsize) + 24);
            for (int i = 0, vn = off; i < count; i++, vn += (int)BitConverter.ToUInt32(b, vn + 12))
                for (int j = 0, aux = vn + (int)BitConverter.ToUInt32(b, vn + 8); j < BitConverter.ToUInt16(b, vn + 2); j++, aux += (int)BitConverter.ToUInt32(b, aux + 12))
                {
                    int at = str + (int)BitConverter.ToUInt32(b, aux + 8), end = Array.IndexOf(b, (byte)0, at);
                    if (Encoding.ASCII.GetString(b, at, end - at) == name) return BitConverter.ToUInt16(b, aux + 4);
                }
        }
        return null;
    }
}
