using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Copies a tensor's elements into a .NET array straight from its storage. TorchSharp's <c>data&lt;T&gt;().ToArray()</c>
/// does the same through a <c>TensorAccessor</c> that reads the tensor's shape and strides into finalizable native
/// arrays which its Dispose does not release: every call leaves objects for the finalizer thread. A prediction made
/// five such calls; on two cores the finalizer thread then took about a tenth of one core from the predicting threads
/// (bench <c>predict</c>, 30 November 2026).
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
