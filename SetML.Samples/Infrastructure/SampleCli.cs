using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using SetML.Samples.Data;
using SetML.Training;

namespace SetML.Samples.Infrastructure;

/// <summary>
/// The command line of SetML.Samples: <c>dotnet run --project SetML.Samples -c Release -- [NAME] [options]</c>.
/// No NAME runs the tour. Every run writes <c>results.json</c> into its output folder.
/// </summary>
public static class SampleCli
{
    /// <summary>The sample that runs when no name is given.</summary>
    public const string TourName = "tour";

    /// <summary>Exit code for bad command-line arguments.</summary>
    public const int UsageError = 2;
    /// <summary>Exit code when a data set is missing (the message says how to install it).</summary>
    public const int MissingData = 3;
    /// <summary>Exit code after Ctrl-C (what existed was written).</summary>
    public const int Cancelled = 130;

    /// <summary>Every registered sample (public non-abstract <see cref="Sample"/> subclasses of this assembly), tour first.</summary>
    public static IReadOnlyList<Sample> Samples { get; } = typeof(Sample).Assembly.GetTypes()
        .Where(t => t.IsPublic && !t.IsAbstract && typeof(Sample).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) != null)
        .Select(t => (Sample)Activator.CreateInstance(t)!)
        .OrderBy(s => s.Name == TourName ? 0 : 1).ThenBy(s => s.Name, StringComparer.Ordinal)
        .ToList();

    /// <summary>
    /// Parses <paramref name="args"/>, runs the sample and writes results.json. Prints to <paramref name="output"/>
    /// (plain progress lines); when null, prints to the console with live progress bars unless output is redirected,
    /// and Ctrl-C cancels the run cleanly. Returns the exit code: 0 success, 2 bad arguments, 3 missing data,
    /// 130 cancelled, 1 failure.
    /// </summary>
    public static int Run(string[] args, TextWriter? output = null, CancellationToken cancellation = default)
    {
        bool console = output == null;
        bool live = console && !Console.IsOutputRedirected;
        using var liveHost = live ? new LiveProgressHost() : null;
        var o = liveHost?.Writer ?? output ?? Console.Out;

        var dups = Samples.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (dups != null) { o.WriteLine($"Error: two samples are named '{dups.Key}'."); return 1; }

        // 1. Which sample.
        int first = 0;
        Sample? sample;
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            if (args.Length > 0 && args[0] is "--help" or "-h" or "-?" && args.Length == 1) { PrintUsage(o); return 0; }
            sample = Samples.FirstOrDefault(s => s.Name == TourName);
            if (sample == null) { PrintUsage(o); return UsageError; }
        }
        else if (args[0] is "help")
        {
            PrintUsage(o);
            return 0;
        }
        else
        {
            sample = Samples.FirstOrDefault(s => s.Name == args[0]);
            if (sample == null)
            {
                o.WriteLine($"Error: unknown sample '{args[0]}'.");
                o.WriteLine();
                PrintUsage(o);
                return UsageError;
            }
            first = 1;
        }

        // 2. Options.
        int? epochs = null; int seed = 0; var device = SetDevice.Cpu; string? outDir = null; bool quick = false;
        var sampleOptions = new Dictionary<string, long>();
        for (int i = first; i < args.Length; i++)
        {
            string a = args[i];
            string? Value()
            {
                if (i + 1 < args.Length && !args[i + 1].StartsWith("--")) return args[++i];
                return null;
            }
            switch (a)
            {
                case "--help" or "-h" or "-?":
                    PrintSampleHelp(o, sample);
                    return 0;
                case "--quick":
                    quick = true;
                    break;
                case "--epochs":
                    var e = Value();
                    if (!int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out var ev) || ev < 1)
                        return Bad(o, sample, $"--epochs needs a whole number ≥ 1, got '{e ?? "(nothing)"}'.");
                    epochs = ev;
                    break;
                case "--seed":
                    var s = Value();
                    if (!int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out seed))
                        return Bad(o, sample, $"--seed needs a whole number, got '{s ?? "(nothing)"}'.");
                    break;
                case "--device":
                    var d = Value();
                    switch (d?.ToLowerInvariant())
                    {
                        case "cpu": device = SetDevice.Cpu; break;
                        case "cuda": device = SetDevice.Cuda; break;
                        // The samples' "auto" = CUDA when available (SetDevice.Auto follows MLContext.GpuDeviceId, unset here).
                        case "auto": device = TorchSharp.torch.cuda.is_available() ? SetDevice.Cuda : SetDevice.Cpu; break;
                        default: return Bad(o, sample, $"--device must be cpu, cuda or auto, got '{d ?? "(nothing)"}'.");
                    }
                    break;
                case "--out":
                    outDir = Value();
                    if (string.IsNullOrWhiteSpace(outDir)) return Bad(o, sample, "--out needs a folder.");
                    break;
                case var own when sample.Options.Any(so => so.Name == own):
                    var ov = Value();
                    if (!long.TryParse(ov?.Replace("_", ""), NumberStyles.AllowExponent | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var ol) || ol < 1)
                        return Bad(o, sample, $"{own} needs a whole number ≥ 1, got '{ov ?? "(nothing)"}'.");
                    sampleOptions[own] = ol;
                    break;
                default:
                    return Bad(o, sample, a.StartsWith('-') ? $"unknown option '{a}'." : $"unexpected argument '{a}'.");
            }
        }

        if (device == SetDevice.Cuda)
        {
            try { TorchRuntime.Resolve(device); }
            catch (InvalidOperationException ex) { o.WriteLine($"Error: {ex.Message}"); return UsageError; }
        }

        // 3. Run.
        outDir = Path.GetFullPath(outDir ?? Path.Combine("setml-output", sample.Name));
        Directory.CreateDirectory(outDir);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        ConsoleCancelEventHandler? onCancel = null;
        if (console)
        {
            onCancel = (_, e) =>
            {
                if (cts.IsCancellationRequested) return; // a second Ctrl-C ends the process
                e.Cancel = true;
                cts.Cancel();
            };
            Console.CancelKeyPress += onCancel;
        }

        var ctx = new SampleContext
        {
            Epochs = epochs ?? sample.DefaultEpochs,
            Seed = seed,
            Device = device,
            OutputDirectory = outDir,
            Quick = quick,
            SampleOptions = sampleOptions,
            Out = o,
            Cancellation = cts.Token,
            ProgressFactory = liveHost != null ? liveHost.Create : label => new PlainProgress(label, o),
        };
        o.WriteLine($"SetML sample '{sample.Name}': {sample.Description}");
        o.WriteLine($"seed {ctx.Seed}, epochs {ctx.Epochs}, device {ctx.Device}{(quick ? ", quick (smoke-test) mode: the numbers mean nothing" : "")}");
        var watch = Stopwatch.StartNew();
        int code;
        string status;
        string? error = null;
        try
        {
            code = sample.Run(ctx);
            status = cts.IsCancellationRequested ? "cancelled" : code == 0 ? "completed" : "failed";
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            code = Cancelled; status = "cancelled";
        }
        catch (FashionMnistMissingException ex)
        {
            code = MissingData; status = "missing-data"; error = ex.Message;
            o.WriteLine($"Error: {ex.Message}");
        }
        catch (Exception ex)
        {
            code = 1; status = "failed"; error = ex.ToString();
            o.WriteLine($"Error: {ex.GetType().Name}: {ex.Message}");
            o.WriteLine(ex.StackTrace);
        }
        finally
        {
            liveHost?.Close();
            if (onCancel != null) Console.CancelKeyPress -= onCancel;
        }
        if (status == "cancelled")
        {
            code = Cancelled;
            o.WriteLine("Cancelled (Ctrl-C): results.json holds the rows finished so far.");
        }

        var resultsPath = Path.Combine(outDir, "results.json");
        WriteResults(resultsPath, sample, ctx, args, status, error, watch.Elapsed);
        o.WriteLine($"Wall time {ConsoleProgress.Time(watch.Elapsed)}; {ctx.Results.Rows.Count} result rows, {ctx.SavedPictures.Count} pictures.");
        o.WriteLine($"Output folder: {outDir}");
        o.WriteLine($"Results: {resultsPath}");
        return code;
    }

    private static int Bad(TextWriter o, Sample sample, string message)
    {
        o.WriteLine($"Error: {message}");
        o.WriteLine();
        PrintSampleHelp(o, sample);
        return UsageError;
    }

    /// <summary>The common options, as printed in every help text.</summary>
    public const string OptionsHelp =
        "Options:\n" +
        "  --epochs N       training epochs (default: the sample's)\n" +
        "  --seed S         random seed for data and weights (default 0)\n" +
        "  --device D       cpu | cuda | auto (default cpu; cuda needs a CUDA build, see docs/gpu.md)\n" +
        "  --out DIR        output folder (default setml-output/NAME under the current folder)\n" +
        "  --quick          smoke-test mode: tiny data and models, seconds; the numbers mean nothing\n" +
        "  --help           this text";

    /// <summary>Prints the list of samples and the options.</summary>
    public static void PrintUsage(TextWriter o)
    {
        o.WriteLine("Usage: dotnet run --project SetML.Samples -c Release -- [NAME] [options]");
        o.WriteLine("       (no NAME runs the tour)");
        o.WriteLine();
        o.WriteLine("Samples:");
        int w = Samples.Max(s => s.Name.Length);
        foreach (var s in Samples) o.WriteLine($"  {s.Name.PadRight(w)}  {s.Description}");
        o.WriteLine();
        o.WriteLine(OptionsHelp.Replace("\n", Environment.NewLine));
        o.WriteLine();
        o.WriteLine("Each run writes results.json (one row per model in the printed table) and its pictures into the output folder.");
    }

    private static void PrintSampleHelp(TextWriter o, Sample s)
    {
        o.WriteLine($"Usage: dotnet run --project SetML.Samples -c Release -- {s.Name} [options]");
        o.WriteLine();
        o.WriteLine(s.Help.Trim());
        o.WriteLine();
        o.WriteLine($"Default epochs: {s.DefaultEpochs}.");
        o.WriteLine(OptionsHelp.Replace("\n", Environment.NewLine).Replace("NAME", s.Name));
        foreach (var (name, help) in s.Options) o.WriteLine($"  {(name + " N").PadRight(16)} {help}");
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private static void WriteResults(string path, Sample sample, SampleContext ctx, string[] args, string status, string? error, TimeSpan wall)
    {
        var rows = ctx.Results.Rows.Select(r =>
        {
            var row = new Dictionary<string, object?>(r);
            row.TryAdd("seed", ctx.Seed);
            row.TryAdd("epochs", ctx.Epochs);
            return row;
        }).ToList();
        var doc = new Dictionary<string, object?>
        {
            ["sample"] = sample.Name,
            ["description"] = sample.Description,
            ["command"] = "dotnet run --project SetML.Samples -c Release --" + string.Concat(args.Select(a => " " + a)),
            ["status"] = status,
            ["error"] = error,
            ["seed"] = ctx.Seed,
            ["epochs"] = ctx.Epochs,
            ["quick"] = ctx.Quick,
            ["device"] = ctx.Device.ToString().ToLowerInvariant(),
            ["wallSeconds"] = Math.Round(wall.TotalSeconds, 2),
            ["finishedUtc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["machine"] = Machine(),
            ["rows"] = rows,
            ["pictures"] = ctx.SavedPictures.Select(p => new Dictionary<string, string> { ["path"] = Path.GetFileName(p.Path), ["caption"] = p.Caption }).ToList(),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(doc, Json));
    }

    /// <summary>A one-line description of this machine (CPU model, cores, OS, .NET).</summary>
    public static string Machine()
    {
        string cpu = RuntimeInformation.ProcessArchitecture.ToString();
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        return $"{cpu}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }
}
