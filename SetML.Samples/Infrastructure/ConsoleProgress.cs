using System.Text;
using Spectre.Console;
using SetML.Training;

namespace SetML.Samples.Infrastructure;

/// <summary>Plain progress lines (output redirected, tests): one line per epoch, at most about 20 per training.</summary>
internal sealed class PlainProgress(string label, TextWriter output) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        int every = Math.Max(1, (int)Math.Ceiling(p.Epochs / 20.0));
        if (p.Epoch % every != 0 && p.Epoch != p.Epochs && p.Epoch != 1) return;
        output.WriteLine($"  {label}: {ConsoleProgress.Describe(p)}");
    }
}

/// <summary>Formatting shared by the plain and the live progress.</summary>
internal static class ConsoleProgress
{
    public static string Describe(TrainingProgress p)
        => $"epoch {p.Epoch}/{p.Epochs}  loss {p.TrainingLoss:G4}" + (p.ValidationLoss is { } v ? $"  validation {v:G4}" : "") +
           $"  elapsed {Time(p.Elapsed)}  ETA {Time(p.Remaining)}";

    public static string Time(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
}

/// <summary>
/// Live Spectre.Console progress bars on a terminal: one bar per training, rendered on its own thread while the training
/// runs on the caller's. A bar ends at its last epoch, when the next training starts, or when anything is printed
/// through <see cref="Writer"/> (so tables never interleave with a live bar).
/// </summary>
internal sealed class LiveProgressHost : IDisposable
{
    private readonly object _gate = new();
    private Thread? _thread;
    private ManualResetEventSlim? _done;

    public LiveProgressHost() => Writer = new LiveAwareWriter(this, Console.Out);

    /// <summary>Console output that first closes the live bar.</summary>
    public TextWriter Writer { get; }

    public IProgress<TrainingProgress> Create(string label)
    {
        Close();
        ProgressTask? task = null;
        var ready = new ManualResetEventSlim();
        var done = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            try
            {
                AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new PercentageColumn(), new SpinnerColumn())
                    .Start(ctx =>
                    {
                        task = ctx.AddTask(Markup.Escape($"{label}: starting"), maxValue: 1);
                        ready.Set();
                        done.Wait();
                        ctx.Refresh();
                    });
            }
            finally { ready.Set(); }
        }) { IsBackground = true, Name = "SetML progress" };
        lock (_gate) { _thread = thread; _done = done; }
        thread.Start();
        ready.Wait();
        return new LiveProgress(this, label, () => task);
    }

    /// <summary>Stops the live bar (if any) and waits until its last frame is drawn.</summary>
    public void Close()
    {
        Thread? t; ManualResetEventSlim? d;
        lock (_gate) { t = _thread; d = _done; _thread = null; _done = null; }
        if (t == null) return;
        d!.Set();
        if (Thread.CurrentThread != t) t.Join();
    }

    public void Dispose() => Close();

    private sealed class LiveProgress(LiveProgressHost host, string label, Func<ProgressTask?> task) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (task() is { } t)
            {
                t.MaxValue = p.Epochs;
                t.Value = p.Epoch;
                t.Description = Markup.Escape($"{label}: epoch {p.Epoch}/{p.Epochs}  loss {p.TrainingLoss:G4}  ETA {ConsoleProgress.Time(p.Remaining)}");
            }
            if (p.Epoch >= p.Epochs) host.Close();
        }
    }

    private sealed class LiveAwareWriter(LiveProgressHost host, TextWriter inner) : TextWriter
    {
        public override Encoding Encoding => inner.Encoding;
        public override void Write(char value) { host.Close(); inner.Write(value); }
        public override void Write(string? value) { host.Close(); inner.Write(value); }
        public override void WriteLine(string? value) { host.Close(); inner.WriteLine(value); }
        public override void WriteLine() { host.Close(); inner.WriteLine(); }
        public override void Flush() => inner.Flush();
    }
}
