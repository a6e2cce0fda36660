using System.Diagnostics;
using System.Text.Json;

namespace SetML.Samples.Bench;

/// <summary>
/// Runs one config of the team's PyTorch reference (<c>../shared/bench/reference_pytorch.py</c>) with Debian's
/// <c>/usr/bin/python3</c> (python3-torch) and returns its JSON rows keyed by their <c>bench</c> field.
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
    /// Runs <paramref name="config"/> with <paramref name="threads"/> threads and <paramref name="reps"/> repetitions.
    /// Returns bench name → row (empty when the reference is unavailable or fails; the reason goes to <paramref name="log"/>).
    /// </summary>
    public static Dictionary<string, JsonElement> Run(string config, int threads, int reps, TextWriter log)
        => RunScript("reference_pytorch.py", threads, "bench", log,
            "--configs", config, "--threads", threads.ToString(), "--reps", reps.ToString(), "--wait-idle", "5", "--retries", "0");

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
}
