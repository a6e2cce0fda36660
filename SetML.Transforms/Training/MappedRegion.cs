namespace SetML.Training;

/// <summary>
/// One file-backed region of this process's address space, from <c>/proc/self/maps</c> (Linux): where SetML finds the
/// native libraries libtorch loaded (libtorch_cpu.so and its OpenMP runtime) and checks addresses inside them.
/// </summary>
internal sealed record MappedRegion(long Start, long End, bool Writable, bool Executable, string Path)
{
    /// <summary>The file name of libtorch's CPU library.</summary>
    public const string TorchCpuFileName = "libtorch_cpu.so";

    /// <summary>The file-backed regions mapped now (reads <c>/proc/self/maps</c>; throws its I/O exceptions).</summary>
    public static IReadOnlyList<MappedRegion> Read()
        => File.ReadLines("/proc/self/maps").Select(Parse).Where(r => r != null).Select(r => r!).ToList();

    /// <summary>The path of the loaded libtorch_cpu.so among <paramref name="regions"/>, or null.</summary>
    public static string? TorchCpu(IEnumerable<MappedRegion> regions)
        => regions.FirstOrDefault(r => System.IO.Path.GetFileName(r.Path) == TorchCpuFileName)?.Path;

    /// <summary>A line of <c>/proc/self/maps</c> ("start-end perms offset dev inode path"), or null when it names no file.</summary>
    internal static MappedRegion? Parse(string line)
    {
        var f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 6) return null;
        var range = f[0].Split('-');
        if (range.Length != 2) return null;
        return new MappedRegion(Convert.ToInt64(range[0], 16), Convert.ToInt64(range[1], 16), f[1].Length > 1 && f[1][1] == 'w',
            f[1].Length > 2 && f[1][2] == 'x', f[5].Trim());
    }
}
