using System.Diagnostics;

namespace SetML.Samples.Bench;

/// <summary>
/// A control for the bench's two-thread rows: how much this machine speeds up memory-bound work with a second thread,
/// measured in the same minute. Each thread follows its own random cycle through 1 MB of indices (dependent loads,
/// nothing shared between the threads), alone and then both at once. On the project's 2-vCPU machines this plain loop
/// scaled 1.7–2.2× in some minutes and 0.8–1.2× in others (30 November 2026), while an FMA loop kept scaling 1.8–1.9×:
/// the two vCPUs then share a core's caches. A two-engine prediction figure taken in such a minute says more about the
/// machine than about SetML.
/// </summary>
public static class MachineScaling
{
    private const int Entries = 1 << 18;                   // 256 Ki ints = 1 MB per thread
    private static readonly int[][] Cycles = { Cycle(1), Cycle(2) };

    /// <summary>Throughput of two threads chasing their own cycles over one thread chasing one (2 = perfect scaling).</summary>
    public static double TwoThreads(int steps = 2_000_000)
    {
        long sink = 0;
        double One()
        {
            var w = Stopwatch.StartNew();
            sink += Chase(Cycles[0], steps);
            return w.Elapsed.TotalSeconds;
        }
        double before = One();
        using var start = new Barrier(3);
        var threads = Cycles.Select(cycle => new Thread(() => { start.SignalAndWait(); Interlocked.Add(ref sink, Chase(cycle, steps)); })).ToList();
        threads.ForEach(t => t.Start());
        start.SignalAndWait();
        var watch = Stopwatch.StartNew();
        threads.ForEach(t => t.Join());
        double two = watch.Elapsed.TotalSeconds;
        double one = Math.Min(before, One());              // one thread just before and just after: the faster
        GC.KeepAlive(sink);
        return 2 * one / two;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static long Chase(int[] next, int steps)
    {
        int i = 0;
        long sum = 0;
        for (int k = 0; k < steps; k++) { i = next[i]; sum += i; }
        return sum;
    }

    // A single random cycle through all entries (Sattolo's algorithm), so every load depends on the one before.
    private static int[] Cycle(int seed)
    {
        var rng = new Random(seed);
        var order = Enumerable.Range(0, Entries).ToArray();
        for (int i = Entries - 1; i > 0; i--)
        {
            int j = rng.Next(i);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var next = new int[Entries];
        for (int i = 0; i < Entries; i++) next[order[i]] = order[(i + 1) % Entries];
        return next;
    }
}
