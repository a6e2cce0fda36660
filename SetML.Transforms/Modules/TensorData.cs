using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Moves elements between tensors and .NET memory without TorchSharp's conveniences that leave work for the garbage
/// collector. <see cref="CopyToArray{T}"/> copies a tensor's elements into an array straight from its storage:
/// TorchSharp's <c>data&lt;T&gt;().ToArray()</c> goes through a <c>TensorAccessor</c> that reads the tensor's shape and
/// strides into finalizable native arrays which its Dispose does not release (a prediction made five such calls; on two
/// cores the finalizer thread then took about a tenth of one core from the predicting threads, bench <c>predict</c>,
/// 30 November 2026). <see cref="Create{T, TState}"/> writes a new tensor's elements straight into its storage instead of
/// through <c>torch.tensor(array)</c>.
/// </summary>
internal static class TensorData
{
    /// <summary>
    /// The elements of <paramref name="tensor"/> in row-major order (any device, any strides); its dtype must be
    /// <typeparamref name="T"/>'s.
    /// </summary>
    /// <exception cref="ArgumentException">The tensor's dtype is not <typeparamref name="T"/>'s.</exception>
    public static T[] CopyToArray<T>(this Tensor tensor) where T : unmanaged
    {
        var expected = ScalarTypeOf<T>();
        if (tensor.dtype != expected)
            throw new ArgumentException($"A tensor of {tensor.dtype} cannot be copied into {typeof(T).Name}[] (expected {expected}).", nameof(tensor));
        if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous()) return Copy<T>(tensor);
        using var cpu = tensor.cpu();
        using var contiguous = cpu.contiguous();
        return Copy<T>(contiguous);
    }

    /// <summary>
    /// <paramref name="tensor"/> itself when it is on the CPU, else its CPU copy: TorchSharp's <c>cpu()</c> makes a new
    /// tensor object even for a CPU tensor, one more finalizable object per prediction.
    /// </summary>
    public static Tensor OnCpu(this Tensor tensor) => tensor.device_type == DeviceType.CPU ? tensor : tensor.cpu();

    /// <summary>Writes a tensor's elements, in row-major order, from <paramref name="state"/> (a static lambda then allocates no closure).</summary>
    internal delegate void ElementWriter<T, in TState>(Span<T> elements, TState state);

    /// <summary>
    /// A new CPU tensor of <paramref name="shape"/> (float32 or bool) whose elements <paramref name="write"/> fills from
    /// <paramref name="state"/>, written straight into libtorch's storage: <c>torch.tensor(array)</c> clones the array,
    /// pins the clone and registers a deleter in a process-wide dictionary for every tensor it makes. A static lambda over
    /// a struct state allocates nothing (a single-row prediction builds its input tensors this way). Over 2 GB (past
    /// <c>Tensor.bytes</c>' int length) the elements go through a .NET array and <c>torch.tensor</c>.
    /// </summary>
    public static Tensor Create<T, TState>(long[] shape, TState state, ElementWriter<T, TState> write) where T : unmanaged
    {
        long count = 1;
        foreach (var size in shape) count *= size;
        if (count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() <= int.MaxValue)
        {
            var tensor = torch.empty(shape, ScalarTypeOf<T>());
            write(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(tensor.bytes), state);
            return tensor;
        }
        var values = new T[count];
        write(values, state);
        return values switch
        {
            float[] f => torch.tensor(f, shape),
            bool[] b => torch.tensor(b, shape),
            _ => throw new NotSupportedException($"TensorData.Create over 2 GB is for float and bool tensors, not {typeof(T).Name}."),
        };
    }

    private static T[] Copy<T>(Tensor contiguous) where T : unmanaged
    {
        // Tensor.bytes spans the storage of a CPU tensor from its first element (THSTensor_data) with an int length.
        if (contiguous.numel() * contiguous.element_size() > int.MaxValue) return contiguous.data<T>().ToArray();
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(contiguous.bytes).ToArray();
    }

    private static ScalarType ScalarTypeOf<T>() where T : unmanaged
        => typeof(T) == typeof(float) ? ScalarType.Float32
         : typeof(T) == typeof(long) ? ScalarType.Int64
         : typeof(T) == typeof(double) ? ScalarType.Float64
         : typeof(T) == typeof(int) ? ScalarType.Int32
         : typeof(T) == typeof(bool) ? ScalarType.Bool
         : typeof(T) == typeof(byte) ? ScalarType.Byte
         : throw new NotSupportedException($"No tensor dtype for {typeof(T).Name}.");
}
