using System.Buffers.Binary;
using System.IO.Compression;

namespace SetML.Samples.Data;

/// <summary>Which half of Fashion-MNIST to read.</summary>
public enum FashionMnistSplit
{
    /// <summary>The 60,000 training images (<c>train-*-idx?-ubyte.gz</c>).</summary>
    Train,
    /// <summary>The 10,000 test images (<c>t10k-*-idx?-ubyte.gz</c>).</summary>
    Test,
}

/// <summary>Fashion-MNIST is not installed where SetML looks for it; the message says which command installs it.</summary>
public sealed class FashionMnistMissingException : Exception
{
    /// <summary>Creates the exception for the missing <paramref name="path"/>.</summary>
    public FashionMnistMissingException(string path)
        : base($"Fashion-MNIST was not found: {path} does not exist. Install it with:{Environment.NewLine}" +
               $"    {FashionMnist.InstallCommand}{Environment.NewLine}" +
               $"(or point the {FashionMnist.DirectoryVariable} environment variable at a folder holding the four IDX .gz files). " +
               "SetML never downloads data at run time.")
    {
        Path = path;
    }

    /// <summary>The file or folder that was looked for.</summary>
    public string Path { get; }
}

/// <summary>
/// Fashion-MNIST (Xiao et al., 2017) read from the IDX <c>.gz</c> files of the Debian package <c>dataset-fashion-mnist</c>
/// (<c>/usr/share/datasets/fashion-mnist</c>): 28×28 grey images of 10 clothing classes. Nothing is downloaded.
/// <see cref="ToPointSet(ReadOnlySpan{byte})"/> turns an image into the 2-D point set DSPN (Zhang et al., 2019, §5.1) builds
/// from MNIST: the coordinates of the pixels brighter than the image's mean, scaled to [0, 1]².
/// </summary>
public sealed class FashionMnist
{
    /// <summary>Where the Debian package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";
    /// <summary>The command that installs the data set.</summary>
    public const string InstallCommand = "sudo apt-get install dataset-fashion-mnist";
    /// <summary>Environment variable that overrides <see cref="DefaultDirectory"/>.</summary>
    public const string DirectoryVariable = "SETML_FASHION_MNIST";
    /// <summary>Image side length in pixels.</summary>
    public const int Side = 28;
    /// <summary>Pixels per image (28·28).</summary>
    public const int PixelCount = Side * Side;

    /// <summary>The 10 class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    };

    private readonly byte[] _pixels;
    private readonly byte[] _labels;

    private FashionMnist(byte[] pixels, byte[] labels)
    {
        _pixels = pixels;
        _labels = labels;
    }

    /// <summary>Number of images read.</summary>
    public int Count => _labels.Length;

    /// <summary>The class (0–9) of image <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[index];

    /// <summary>The 784 raw pixels (0–255, row-major) of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Pixels(int index) => _pixels.AsSpan(index * PixelCount, PixelCount);

    /// <summary>The 784 pixels of image <paramref name="index"/> scaled to [0, 1].</summary>
    public float[] Image(int index)
    {
        var p = Pixels(index);
        var x = new float[PixelCount];
        for (int i = 0; i < x.Length; i++) x[i] = p[i] / 255f;
        return x;
    }

    /// <summary>The DSPN point set of image <paramref name="index"/> (see <see cref="ToPointSet(ReadOnlySpan{byte})"/>).</summary>
    public float[] PointSet(int index) => ToPointSet(Pixels(index));

    /// <summary>The folder the files are read from: <c>$SETML_FASHION_MNIST</c> when set, else <see cref="DefaultDirectory"/>.</summary>
    public static string Directory => Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } d ? d : DefaultDirectory;

    /// <summary>Whether the four files are present.</summary>
    public static bool IsInstalled(string? directory = null)
    {
        directory ??= Directory;
        return FileNames(FashionMnistSplit.Train).Concat(FileNames(FashionMnistSplit.Test))
            .All(f => File.Exists(System.IO.Path.Combine(directory, f)));
    }

    /// <summary>Reads the first <paramref name="maxImages"/> images (all when null) of a split.</summary>
    /// <exception cref="FashionMnistMissingException">A file is missing; the message names the install command.</exception>
    /// <exception cref="InvalidDataException">A file is not a valid IDX file.</exception>
    public static FashionMnist Load(FashionMnistSplit split, int? maxImages = null, string? directory = null)
    {
        directory ??= Directory;
        if (maxImages is < 0) throw new ArgumentOutOfRangeException(nameof(maxImages), maxImages, "maxImages must be ≥ 0.");
        var files = FileNames(split);
        var imagePath = System.IO.Path.Combine(directory, files[0]);
        var labelPath = System.IO.Path.Combine(directory, files[1]);
        foreach (var p in new[] { imagePath, labelPath })
            if (!File.Exists(p)) throw new FashionMnistMissingException(p);

        var labels = ReadIdx(labelPath, 0x00000801, 1, maxImages, out _);
        var pixels = ReadIdx(imagePath, 0x00000803, 3, maxImages, out var dims);
        if (dims[1] != Side || dims[2] != Side)
            throw new InvalidDataException($"{imagePath}: expected {Side}×{Side} images, found {dims[1]}×{dims[2]}.");
        if (pixels.Length != labels.Length * PixelCount)
            throw new InvalidDataException($"{imagePath} and {labelPath} hold different numbers of items.");
        foreach (var l in labels)
            if (l >= ClassNames.Count) throw new InvalidDataException($"{labelPath}: label {l} is outside 0–9.");
        return new FashionMnist(pixels, labels);
    }

    /// <summary>
    /// DSPN's set version of an image (§5.1): every pixel brighter than the image's mean pixel value becomes the point
    /// (x, y) = (column/27, 1 − row/27) ∈ [0, 1]², in row-major order. y grows upwards so a plot shows the image upright
    /// (DSPN keeps image coordinates; only the orientation differs). Returns the flat set (n·2 values, element dimension 2).
    /// </summary>
    public static float[] ToPointSet(ReadOnlySpan<byte> image)
    {
        if (image.Length != PixelCount) throw new ArgumentException($"An image has {PixelCount} pixels, got {image.Length}.", nameof(image));
        double mean = 0;
        foreach (var p in image) mean += p;
        mean /= PixelCount;
        var points = new List<float>(2 * PixelCount);
        for (int r = 0; r < Side; r++)
            for (int c = 0; c < Side; c++)
                if (image[r * Side + c] > mean)
                {
                    points.Add(c / (float)(Side - 1));
                    points.Add(1f - r / (float)(Side - 1));
                }
        return points.ToArray();
    }

    private static string[] FileNames(FashionMnistSplit split) => split == FashionMnistSplit.Train
        ? new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" }
        : new[] { "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" };

    // IDX layout (big-endian): int32 magic (0x0000080T, T = 1 dims for labels, 3 for images), T int32 sizes, then the
    // unsigned bytes, row-major. Only the first maxItems items are decompressed.
    private static byte[] ReadIdx(string path, int magic, int rank, int? maxItems, out int[] dims)
    {
        using var file = File.OpenRead(path);
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        Span<byte> header = stackalloc byte[4 * (1 + rank)];
        gz.ReadExactly(header);
        int found = BinaryPrimitives.ReadInt32BigEndian(header);
        if (found != magic) throw new InvalidDataException($"{path}: IDX magic 0x{found:X8}, expected 0x{magic:X8}.");
        dims = new int[rank];
        for (int i = 0; i < rank; i++) dims[i] = BinaryPrimitives.ReadInt32BigEndian(header[(4 + 4 * i)..]);
        int items = maxItems is { } m ? Math.Min(m, dims[0]) : dims[0];
        int itemSize = 1;
        for (int i = 1; i < rank; i++) itemSize *= dims[i];
        var data = new byte[(long)items * itemSize];
        gz.ReadExactly(data);
        return data;
    }
}
