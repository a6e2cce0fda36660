using SetML.Training;

namespace SetML.Tests.Foundation;

/// <summary>SetML sets libtorch's OpenMP wait policy to passive before libtorch starts, never overriding the user's choice.</summary>
[TestClass]
public sealed class OpenMPSettingsTests
{
    [TestMethod]
    public void WaitPolicyIsSetInTheNativeEnvironment()
    {
        // The module initializer ran when this test first touched SetML: the variable the OpenMP runtime reads is set
        // (to PASSIVE, or to what the environment of the test run already had), natively, where libgomp reads it.
        Assert.IsFalse(string.IsNullOrEmpty(OpenMPSettings.WaitPolicy));
        Assert.AreEqual(Environment.GetEnvironmentVariable(OpenMPSettings.WaitPolicyVariable), OpenMPSettings.WaitPolicy);
    }

    [TestMethod]
    public void AValueAlreadySetIsKept()
    {
        string name = "SETML_TEST_OMP_" + Guid.NewGuid().ToString("N");
        Assert.IsNull(OpenMPSettings.ReadNative(name));
        OpenMPSettings.SetIfUnset(name, "PASSIVE");
        Assert.AreEqual("PASSIVE", OpenMPSettings.ReadNative(name));
        Assert.AreEqual("PASSIVE", Environment.GetEnvironmentVariable(name));
        OpenMPSettings.SetIfUnset(name, "ACTIVE");
        Assert.AreEqual("PASSIVE", OpenMPSettings.ReadNative(name), "a value already in the environment must not be overwritten");
    }
}
