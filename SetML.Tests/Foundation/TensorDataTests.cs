using SetML.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Foundation;

/// <summary><see cref="TensorData.CopyToArray{T}"/>: the same elements, in the same order, as TorchSharp's accessor.</summary>
[TestClass]
public sealed class TensorDataTests
{
    [TestMethod]
    public void ElementsComeOutInRowMajorOrderWhateverTheLayout()
    {
        using var scope = NewDisposeScope();
        var x = arange(24, dtype: ScalarType.Float32).reshape(2, 3, 4);
        CollectionAssert.AreEqual(x.data<float>().ToArray(), x.CopyToArray<float>());
        var transposed = x.transpose(1, 2);                       // not contiguous
        Assert.IsFalse(transposed.is_contiguous());
        CollectionAssert.AreEqual(transposed.contiguous().data<float>().ToArray(), transposed.CopyToArray<float>());
        var slice = x[1, 1..];                                    // a view with a storage offset
        CollectionAssert.AreEqual(new float[] { 16, 17, 18, 19, 20, 21, 22, 23 }, slice.CopyToArray<float>());
        CollectionAssert.AreEqual(new long[] { 3, 2, 1 }, tensor(new long[] { 3, 2, 1 }).CopyToArray<long>());
        CollectionAssert.AreEqual(new[] { 0.5, -2.0 }, tensor(new[] { 0.5, -2.0 }).CopyToArray<double>());
        CollectionAssert.AreEqual(new[] { true, false, true }, tensor(new[] { true, false, true }).CopyToArray<bool>());
        Assert.AreEqual(0, zeros(0, 5).CopyToArray<float>().Length);
    }

    [TestMethod]
    public void CreatedTensorsHoldWhatWasWrittenInRowMajorOrder()
    {
        using var scope = NewDisposeScope();
        var x = TensorData.Create(new long[] { 2, 3 }, 0.5f, static (Span<float> e, float step) => { for (int i = 0; i < e.Length; i++) e[i] = i * step; });
        CollectionAssert.AreEqual(new long[] { 2, 3 }, x.shape);
        Assert.AreEqual(ScalarType.Float32, x.dtype);
        CollectionAssert.AreEqual(new[] { 0f, 0.5f, 1f, 1.5f, 2f, 2.5f }, x.data<float>().ToArray());
        var m = TensorData.Create(new long[] { 2, 2 }, 0, static (Span<bool> e, int _) => { e[1] = true; e[2] = true; e[0] = false; e[3] = false; });
        Assert.AreEqual(ScalarType.Bool, m.dtype);
        CollectionAssert.AreEqual(new[] { false, true, true, false }, m.data<bool>().ToArray());
        Assert.AreEqual(0, TensorData.Create(new long[] { 0, 4 }, 0, static (Span<float> _, int _) => { }).numel());
    }

    [TestMethod]
    public void AnotherDtypeIsRefusedNotReinterpreted()
    {
        using var x = ones(3, dtype: ScalarType.Float64);
        var e = Assert.Throws<ArgumentException>(() => x.CopyToArray<float>());
        StringAssert.Contains(e.Message, "Float64");
    }
}
