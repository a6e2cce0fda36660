using SetML.Training;

namespace SetML.Samples.Infrastructure;

/// <summary>
/// One named sub-command of SetML.Samples (<c>dotnet run --project SetML.Samples -c Release -- NAME [options]</c>).
/// Every public non-abstract subclass in this assembly is registered automatically by its <see cref="Name"/>.
/// </summary>
public abstract class Sample
{
    /// <summary>The sub-command name, e.g. <c>max-regression</c>.</summary>
    public abstract string Name { get; }

    /// <summary>One line for the usage listing.</summary>
    public abstract string Description { get; }

    /// <summary>Epochs when <c>--epochs</c> is not given.</summary>
    public virtual int DefaultEpochs => 10;

    /// <summary>Extra help text printed by <c>NAME --help</c> (paper, data, what the table shows).</summary>
    public virtual string Help => Description;

    /// <summary>
    /// Options of this sample only, each taking a whole number ≥ 1 (e.g. <c>--elements 1e8</c>): name and help line.
    /// Their values reach <see cref="Run"/> through <see cref="SampleContext.Option"/>.
    /// </summary>
    public virtual IReadOnlyList<(string Name, string Help)> Options => Array.Empty<(string, string)>();

    /// <summary>
    /// Runs the sample. Print a results table, add one row per model to <see cref="SampleContext.Results"/> (written to
    /// results.json), save pictures under <see cref="SampleContext.OutputDirectory"/> through
    /// <see cref="SampleContext.SavedPicture"/>. Return the process exit code (0 = success).
    /// </summary>
    public abstract int Run(SampleContext context);
}

/// <summary>What a sample gets from the command line and the host.</summary>
public sealed class SampleContext
{
    /// <summary>Training epochs (<c>--epochs</c>, else the sample's default).</summary>
    public required int Epochs { get; init; }
    /// <summary>Random seed (<c>--seed</c>, default 0).</summary>
    public required int Seed { get; init; }
    /// <summary>Device (<c>--device cpu|cuda|auto</c>, default cpu).</summary>
    public required SetDevice Device { get; init; }
    /// <summary>Folder for pictures, models and results.json (<c>--out</c>); created before <see cref="Sample.Run"/>.</summary>
    public required string OutputDirectory { get; init; }
    /// <summary>Smoke-test mode (<c>--quick</c>): tiny data and models, seconds to run; the numbers mean nothing.</summary>
    public bool Quick { get; init; }
    /// <summary>Values of the sample's own options (<see cref="Sample.Options"/>) given on the command line.</summary>
    public IReadOnlyDictionary<string, long> SampleOptions { get; init; } = new Dictionary<string, long>();
    /// <summary>The value of the sample's option <paramref name="name"/>, or <paramref name="defaultValue"/> when not given.</summary>
    public long Option(string name, long defaultValue) => SampleOptions.TryGetValue(name, out var v) ? v : defaultValue;
    /// <summary>Where the sample prints.</summary>
    public TextWriter Out { get; init; } = Console.Out;
    /// <summary>Cancelled on Ctrl-C: stop training cleanly and still write what exists.</summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>The rows of results.json (one per model/row of the printed table).</summary>
    public ResultsFile Results { get; } = new();
    /// <summary>Creates a progress reporter for one training run (a live bar on a terminal, plain lines when redirected).</summary>
    public Func<string, IProgress<TrainingProgress>> ProgressFactory { get; init; } = label => new Progress<TrainingProgress>(_ => { });

    /// <summary>
    /// Creates a progress reporter labelled <paramref name="label"/>; every report is also recorded in
    /// <see cref="Curves"/> (for <see cref="Infrastructure.Pictures.TrainingCurves"/>).
    /// </summary>
    public IProgress<TrainingProgress> Progress(string label)
    {
        var inner = ProgressFactory(label);
        var curve = new List<TrainingProgress>();
        lock (_curves) _curves[UniqueLabel(label)] = curve;
        return new RecordingProgress(inner, curve);
    }

    /// <summary>The loss curves of the trainings run so far: label → one report per epoch, in training order.</summary>
    public IReadOnlyList<KeyValuePair<string, IReadOnlyList<TrainingProgress>>> Curves
    {
        get { lock (_curves) return _curves.Select(kv => new KeyValuePair<string, IReadOnlyList<TrainingProgress>>(kv.Key, kv.Value.ToArray())).ToList(); }
    }

    /// <summary>The pictures saved so far (path, caption).</summary>
    public IReadOnlyList<(string Path, string Caption)> SavedPictures => _pictures;

    /// <summary>A path inside <see cref="OutputDirectory"/>.</summary>
    public string OutputPath(string fileName) => Path.Combine(OutputDirectory, fileName);

    /// <summary>Announces a saved picture with its caption (one console line) and records it in results.json.</summary>
    public void SavedPicture(string path, string caption)
    {
        _pictures.Add((path, caption));
        Out.WriteLine($"[picture] {path}: {caption}");
    }

    /// <summary>Training options pre-filled from the command line: epochs, seed, device, cancellation and a progress bar.</summary>
    public T TrainingOptions<T>(string label, int? epochs = null) where T : SetTrainingOptions, new()
        => new() { Epochs = epochs ?? Epochs, Seed = Seed, Device = Device, CancellationToken = Cancellation, Progress = Progress(label) };

    private readonly Dictionary<string, List<TrainingProgress>> _curves = new();
    private readonly List<(string, string)> _pictures = new();

    private string UniqueLabel(string label)
    {
        var unique = label;
        for (int i = 2; _curves.ContainsKey(unique); i++) unique = $"{label} ({i})";
        return unique;
    }

    private sealed class RecordingProgress(IProgress<TrainingProgress> inner, List<TrainingProgress> curve) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            lock (curve) curve.Add(value);
            inner.Report(value);
        }
    }
}

/// <summary>The rows of a sample's results.json.</summary>
public sealed class ResultsFile
{
    private readonly List<Dictionary<string, object?>> _rows = new();
    private readonly System.Diagnostics.Stopwatch _sinceLastRow = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>The rows added so far.</summary>
    public IReadOnlyList<Dictionary<string, object?>> Rows => _rows;

    /// <summary>
    /// Adds a row: <paramref name="model"/> names the model/row, <paramref name="metrics"/> holds our figures under the
    /// names used in the printed table, <paramref name="paper"/> the paper's figures for the same metrics (if any).
    /// The host adds seed and epochs (unless <paramref name="extra"/> names them) and <c>wallSeconds</c>: the time since
    /// the previous row (or the start), unless <paramref name="extra"/> gives it.
    /// </summary>
    public void Add(string model, IReadOnlyDictionary<string, double> metrics, IReadOnlyDictionary<string, double>? paper = null,
        IReadOnlyDictionary<string, object?>? extra = null)
    {
        var row = new Dictionary<string, object?> { ["model"] = model, ["metrics"] = metrics, ["paper"] = paper };
        if (extra != null) foreach (var kv in extra) row[kv.Key] = kv.Value;
        lock (_rows)
        {
            row.TryAdd("wallSeconds", Math.Round(_sinceLastRow.Elapsed.TotalSeconds, 2));
            _sinceLastRow.Restart();
            _rows.Add(row);
        }
    }
}
