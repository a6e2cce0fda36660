using SetML.Training;
using System.Diagnostics;
using System.Text.Json;

namespace SetML.Samples.Bench;

/// <summary>
/// Runs the team's PyTorch reference scripts (<c>../shared/bench</c>) with Debian's <c>/usr/bin/python3</c>
/// (python3-torch) and returns their JSON rows.
/// </summary>
public static class PyTorchReference
{
    /// <summary>A reference script (default: the micro-benchmark one), if the shared folder is beside (or inside) the repository.</summary>
    public static string? Script(string name = "reference_pytorch.py")
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, "shared", "bench", name);
            if (File.Exists(p)) return p;
            var q = Path.Combine(dir.FullName, "..", "shared", "bench", name);
            if (File.Exists(q) && File.Exists(Path.Combine(dir.FullName, "SetML.sln"))) return Path.GetFullPath(q);
        }
        return null;
    }

    /// <summary>
    /// Runs <c>../shared/bench/pointsets_reference.py</c> (the equal-budget PyTorch point-set classifier) as a child
    /// process with <c>/usr/bin/python3</c>: the given models, epochs, points per set and training images, 2 threads.
    /// Returns model name → its JSON row (test_accuracy, train_seconds, …); empty, with the reason in
    /// <paramref name="log"/>, when the script or torch is unavailable or the run fails. A yardstick only: SetML never
    /// needs Python.
    /// </summary>
    public static Dictionary<string, JsonElement> RunPointSets(IEnumerable<string> models, int epochs, int points, int train, TextWriter log)
        => RunScript("pointsets_reference.py", 2, "model", log,
            "--models", string.Join(",", models), "--epochs", epochs.ToString(), "--points", points.ToString(), "--train", train.ToString(), "--threads", "2");

    /// <summary>
    /// Runs a script of ../shared/bench with <c>/usr/bin/python3</c> and OMP_NUM_THREADS = <paramref name="threads"/>;
    /// every JSON line it prints becomes a row keyed by its <paramref name="key"/> property. Empty, with the reason in
    /// <paramref name="log"/>, when the script or Python is missing or the run fails.
    /// </summary>
    private static Dictionary<string, JsonElement> RunScript(string name, int threads, string key, TextWriter log, params string[] args)
    {
        var rows = new Dictionary<string, JsonElement>();
        var script = Script(name);
        if (script == null || !File.Exists("/usr/bin/python3"))
        {
            log.WriteLine($"  (PyTorch reference not run: needs ../shared/bench/{name} and /usr/bin/python3 with python3-torch)");
            return rows;
        }
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = threads.ToString();
        WithUsersWaitPolicy(psi);
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            foreach (var line in stdout.Split('\n').Where(l => l.StartsWith('{')))
            {
                using var doc = JsonDocument.Parse(line);
                rows[doc.RootElement.GetProperty(key).GetString()!] = doc.RootElement.Clone();
            }
            if (rows.Count == 0) log.WriteLine("  (PyTorch reference printed no result: " + stderr.Result.Trim().Split('\n').LastOrDefault() + ")");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or JsonException or InvalidOperationException)
        {
            log.WriteLine("  (PyTorch reference failed: " + e.Message + ")");
        }
        return rows;
    }

    /// <summary>
    /// Gives the reference the OpenMP waiting of the environment the bench was started with: SetML sets
    /// <c>OMP_WAIT_POLICY</c> and <c>GOMP_SPINCOUNT</c> in its own process when they are unset (<see cref="OpenMPSettings"/>),
    /// and a child inherits them, which made the reference wait as SetML does instead of with PyTorch's default (what a
    /// PyTorch user gets).
    /// </summary>
    internal static void WithUsersWaitPolicy(ProcessStartInfo psi)
    {
        foreach (var name in OpenMPSettings.VariablesSetBySetML) psi.Environment.Remove(name);
    }

    /// <summary>The reference's OpenMP waiting, for the bench's header.</summary>
    public static string ReferenceWaitPolicy
    {
        get
        {
            var own = new[] { OpenMPSettings.WaitPolicyVariable, OpenMPSettings.SpinCountVariable }
                .Where(n => !OpenMPSettings.VariablesSetBySetML.Contains(n) && !string.IsNullOrEmpty(OpenMPSettings.ReadNative(n)))
                .Select(n => $"{n}={OpenMPSettings.ReadNative(n)}").ToList();
            return own.Count == 0 ? "libgomp's default (spins, then sleeps)" : string.Join(", ", own) + ", as set before the bench started";
        }
    }

    /// <summary>SetML's OpenMP waiting, for the bench's header.</summary>
    public static string SetMLWaitPolicy
        => $"OMP_WAIT_POLICY={OpenMPSettings.WaitPolicy ?? "(unset)"}, GOMP_SPINCOUNT={OpenMPSettings.SpinCount ?? "(unset)"}";
}

/// <summary>
/// The PyTorch reference as one long-lived child process (<c>Bench/reference_server.py</c>, which imports
/// <c>../shared/bench/reference_pytorch.py</c>): the bench asks it to time one config at a time, alternately with
/// SetML, so that a disturbance of the shared machine hits both sides. Python's and torch's start-up, the model build
/// and the warm-up are outside the timed calls (the child times each call with <c>time.perf_counter</c>).
/// </summary>
public sealed class ReferenceServer : IDisposable
{
    private readonly Process process;

    private ReferenceServer(Process process, double startupSeconds, string torchVersion)
    {
        this.process = process;
        StartupSeconds = startupSeconds;
        TorchVersion = torchVersion;
    }

    /// <summary>Seconds from process start to its ready line (Python + torch import), excluded from every timing.</summary>
    public double StartupSeconds { get; }

    /// <summary>The reference's torch version.</summary>
    public string TorchVersion { get; }

    /// <summary>
    /// Starts the server with at most <paramref name="maxThreads"/> OpenMP threads, or returns null (reason in
    /// <paramref name="log"/>) when /usr/bin/python3, torch or the shared reference script is missing.
    /// </summary>
    public static ReferenceServer? Start(int maxThreads, TextWriter log)
    {
        var shared = PyTorchReference.Script();
        var server = Path.Combine(AppContext.BaseDirectory, "Bench", "reference_server.py");
        if (shared == null || !File.Exists(server) || !File.Exists("/usr/bin/python3"))
        {
            log.WriteLine("  (PyTorch reference not run: needs ../shared/bench/reference_pytorch.py and /usr/bin/python3 with python3-torch)");
            return null;
        }
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        psi.ArgumentList.Add(server);
        psi.ArgumentList.Add(Path.GetDirectoryName(shared)!);
        psi.Environment["OMP_NUM_THREADS"] = maxThreads.ToString();
        PyTorchReference.WithUsersWaitPolicy(psi);
        var watch = Stopwatch.StartNew();
        try
        {
            var p = Process.Start(psi)!;
            p.ErrorDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
            string? line = p.StandardOutput.ReadLine();
            if (line == null || !line.StartsWith('{'))
            {
                log.WriteLine("  (PyTorch reference did not start: is torch installed for /usr/bin/python3?)");
                p.WaitForExit(5000);
                p.Dispose();
                return null;
            }
            using var doc = JsonDocument.Parse(line);
            return new ReferenceServer(p, watch.Elapsed.TotalSeconds, doc.RootElement.GetProperty("torch").GetString() ?? "?");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or JsonException or InvalidOperationException)
        {
            log.WriteLine("  (PyTorch reference failed to start: " + e.Message + ")");
            return null;
        }
    }

    /// <summary>
    /// Times one config in the child (<paramref name="request"/>: config, threads, reps, warmup and shape fields of
    /// reference_server.py). Returns the per-call times in ms and the config's extra facts, or null (reason in
    /// <paramref name="log"/>) when the child reports an error or has exited.
    /// </summary>
    public (double[] TimesMs, JsonElement Extra)? Time(IReadOnlyDictionary<string, object> request, TextWriter log)
    {
        try
        {
            process.StandardInput.WriteLine(JsonSerializer.Serialize(request));
            process.StandardInput.Flush();
            string? line = process.StandardOutput.ReadLine();
            if (line == null) { log.WriteLine("  (PyTorch reference exited)"); return null; }
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.TryGetProperty("error", out var error))
            {
                log.WriteLine("  (PyTorch reference: " + error.GetString() + ")");
                return null;
            }
            var times = doc.RootElement.GetProperty("times_ms").EnumerateArray().Select(t => t.GetDouble()).ToArray();
            return (times, doc.RootElement.GetProperty("extra").Clone());
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException)
        {
            log.WriteLine("  (PyTorch reference failed: " + e.Message + ")");
            return null;
        }
    }

    /// <summary>Median time in ms of one block of <paramref name="request"/>, or null when the reference failed.</summary>
    public double? MedianMs(IReadOnlyDictionary<string, object> request, TextWriter log)
        => Time(request, log) is { } r ? BenchSection.Median(r.TimesMs) : null;

    /// <summary>Closes the child's input (it exits) and waits for it.</summary>
    public void Dispose()
    {
        try
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(10_000)) process.Kill();
        }
        catch (InvalidOperationException) { }
        process.Dispose();
    }
}
