using System.Diagnostics;

namespace SetML.Tests.Reliability;

/// <summary>Runs SetML.Tests.dll as a program (see <see cref="Foundation.ModelCheckProgram"/>) for checks that could crash the process.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// Runs <c>dotnet SetML.Tests.dll ARGS</c>; returns whether it exited within <paramref name="timeout"/>, its exit code
    /// and its stderr. <paramref name="threads"/> &gt; 0 sets OMP_NUM_THREADS (libtorch's OpenMP threads spin on a busy
    /// machine: a tiny model trains 10× faster on one thread there); OMP_WAIT_POLICY is PASSIVE in any case.
    /// </summary>
    public static (bool Exited, int ExitCode, string StandardError) Run(TimeSpan timeout, int threads, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        if (threads > 0) psi.Environment["OMP_NUM_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        bool exited = p.WaitForExit(timeout);
        if (!exited) p.Kill(entireProcessTree: true);
        p.WaitForExit();
        return (exited, exited ? p.ExitCode : -1, stderr.Result);
    }
}
