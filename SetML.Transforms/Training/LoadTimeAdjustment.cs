namespace SetML.Training;

/// <summary>
/// One change SetML makes to libtorch's native state once, when the SetML assembly is loaded (<see cref="MklCodePath"/>,
/// <see cref="DispatchStubCache"/>): it runs at most once, never throws, and keeps what it did as a sentence that
/// starts with "applied" or "not applied" (for <see cref="TorchRuntime"/>, logs and the bench).
/// </summary>
internal sealed class LoadTimeAdjustment(Func<string> apply)
{
    private int attempted;

    /// <summary>What the adjustment did in this process.</summary>
    public string State { get; private set; } = "not attempted";

    /// <summary>Whether it was applied in this process.</summary>
    public bool Applied => State.StartsWith("applied", StringComparison.Ordinal);

    /// <summary>Runs the adjustment the first time; later calls do nothing.</summary>
    public void Run()
    {
        if (Interlocked.Exchange(ref attempted, 1) != 0) return;
        try { State = apply(); }
        catch (Exception e)
        {
            // libtorch not loadable here (its failure is reported again on first use), or an unreadable process map.
            State = $"not applied: {e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>A variable as native libraries see it (the process environment), else .NET's copy.</summary>
    public static string? Environment(string name) => OpenMPSettings.ReadNative(name) ?? System.Environment.GetEnvironmentVariable(name);

    /// <summary>"turned off (…=0)" when <paramref name="variable"/> is 0 in <paramref name="environment"/>, else null.</summary>
    public static string? TurnedOff(Func<string, string?> environment, string variable)
        => environment(variable) == "0" ? $"turned off ({variable}=0)" : null;
}
