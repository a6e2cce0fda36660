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
        // SetML says whether the value is its own: only then is it PASSIVE by SetML's doing.
        if (OpenMPSettings.WaitPolicySetBySetML) Assert.AreEqual(OpenMPSettings.DefaultWaitPolicy, OpenMPSettings.WaitPolicy);
    }

    [TestMethod]
    public void AValueAlreadySetIsKept()
    {
        string name = "SETML_TEST_OMP_" + Guid.NewGuid().ToString("N");
        Assert.IsNull(OpenMPSettings.ReadNative(name));
        Assert.IsTrue(OpenMPSettings.SetIfUnset(name, "PASSIVE"), "an unset variable is set");
        Assert.AreEqual("PASSIVE", OpenMPSettings.ReadNative(name));
        Assert.AreEqual("PASSIVE", Environment.GetEnvironmentVariable(name));
        Assert.IsFalse(OpenMPSettings.SetIfUnset(name, "ACTIVE"), "a set variable is left alone");
        Assert.AreEqual("PASSIVE", OpenMPSettings.ReadNative(name), "a value already in the environment must not be overwritten");
    }
}
