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
        // SetML says which values are its own: only those are its defaults, set natively where libgomp reads them.
        if (OpenMPSettings.VariablesSetBySetML.Contains(OpenMPSettings.WaitPolicyVariable)) Assert.AreEqual(OpenMPSettings.DefaultWaitPolicy, OpenMPSettings.WaitPolicy);
        if (OpenMPSettings.VariablesSetBySetML.Contains(OpenMPSettings.SpinCountVariable))
        {
            Assert.AreEqual(OpenMPSettings.DefaultSpinCount, OpenMPSettings.SpinCount);
            Assert.AreEqual(OpenMPSettings.DefaultSpinCount, Environment.GetEnvironmentVariable(OpenMPSettings.SpinCountVariable));
        }
    }

    [TestMethod]
    public void TheShortSpinIsAddedOnlyWhereTheUserChoseNoWaiting()
    {
        static string Chosen(params (string Name, string Value)[] environment)
        {
            var env = environment.ToDictionary(e => e.Name, e => e.Value);
            return string.Join(",", OpenMPSettings.Choose(n => env.GetValueOrDefault(n)).Select(c => $"{c.Name}={c.Value}"));
        }
        Assert.AreEqual("OMP_WAIT_POLICY=PASSIVE,GOMP_SPINCOUNT=3000", Chosen());
        Assert.AreEqual("", Chosen(("OMP_WAIT_POLICY", "ACTIVE")), "a dedicated machine keeps spinning");
        Assert.AreEqual("", Chosen(("OMP_WAIT_POLICY", "PASSIVE")), "an explicit passive policy means no spin at all");
        Assert.AreEqual("OMP_WAIT_POLICY=PASSIVE", Chosen(("GOMP_SPINCOUNT", "0")), "the user's spin count is kept");
        Assert.AreEqual("OMP_WAIT_POLICY=PASSIVE,GOMP_SPINCOUNT=3000", Chosen(("OMP_WAIT_POLICY", "")), "an empty variable counts as unset");
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
