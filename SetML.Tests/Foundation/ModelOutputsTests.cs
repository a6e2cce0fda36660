using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Foundation;

/// <summary>
/// A model's output columns are declared with their extractors (<see cref="ModelSpec.CreateOutputs"/>): the schema and
/// the transformer's values both come from that one declaration, whatever the column order.
/// </summary>
[TestClass]
public sealed class ModelOutputsTests
{
    /// <summary>A weightless spec written outside SetML: per set, its size, its element sum and whether it is non-empty.</summary>
    private sealed class SetStatisticsSpec : ModelSpec
    {
        public bool Reversed { get; init; }
        public bool WrongLength { get; init; }

        public override nn.Module CreateNetwork() => nn.Identity();

        public override ModelOutputs CreateOutputs()
        {
            var columns = new[]
            {
                OutputColumn.Single<Tensor>("Size", mask => mask.sum(1, type: ScalarType.Float32).data<float>().ToArray()),
                OutputColumn.Boolean<Tensor>("NonEmpty", mask => mask.any(1).data<bool>().ToArray()),
                OutputColumn.Vector<Tensor>("Count", 1, new[] { "n" },
                    mask => WrongLength ? new float[1][] : mask.sum(1, type: ScalarType.Float32).data<float>().Select(n => new[] { n }).ToArray()),
            };
            if (Reversed) Array.Reverse(columns);
            return ModelOutputs.Create<nn.Module, Tensor>((_, batch) => batch.Mask[0]!.cpu(), columns);
        }
    }

    /// <summary>A spec written outside SetML whose forward pass takes a gradient (as DSPN's inner loop does): per set, d/dx of Σx² summed, i.e. 2·Σx.</summary>
    private sealed class GradientSpec : ModelSpec
    {
        public override bool PredictsWithGradients => true;

        public override nn.Module CreateNetwork() => nn.Identity();

        public override ModelOutputs CreateOutputs() => ModelOutputs.Create<nn.Module, Tensor>((_, batch) =>
        {
            using var grad = torch.enable_grad();
            var x = batch.X[0].detach().requires_grad_(true);
            var gradient = torch.autograd.grad(new[] { x.pow(2).sum() }, new[] { x })[0];
            return gradient.sum(new long[] { 1, 2 }).detach();
        }, OutputColumn.Single<Tensor>("TwiceTheSum", g => g.data<float>().ToArray()));
    }

    private sealed class Row
    {
        [VectorType] public float[] Set { get; set; } = Array.Empty<float>();
    }

    private static IDataView Data(MLContext ml) => ml.Data.LoadFromEnumerable(new[]
    {
        new Row { Set = new float[] { 1, 2, 3, 4, 5, 6 } },
        new Row { Set = new float[] { 7, 8 } },
        new Row { Set = Array.Empty<float>() },
    });

    private static SetModelTransformer Transformer(MLContext ml, SetStatisticsSpec spec)
    {
        spec.Inputs.Add(new ModelInput { ColumnName = "Set", Kind = ModelInputKind.Set, ElementDimension = 2 });
        return new SetModelTransformer(ml, spec, spec.CreateNetwork(), SetML.Training.SetDevice.Cpu, predictionBatchSize: 2);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void EachColumnGetsItsOwnExtractorsValuesInAnyOrder(bool reversed)
    {
        var ml = new MLContext(seed: 1);
        using var t = Transformer(ml, new SetStatisticsSpec { Reversed = reversed });
        var output = t.Transform(Data(ml));
        Assert.AreEqual(NumberDataViewType.Single, output.Schema["Size"].Type);
        Assert.AreEqual(BooleanDataViewType.Instance, output.Schema["NonEmpty"].Type);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 1), output.Schema["Count"].Type);
        CollectionAssert.AreEqual(new[] { 3f, 1f, 0f }, output.GetColumn<float>("Size").ToArray());
        CollectionAssert.AreEqual(new[] { true, true, false }, output.GetColumn<bool>("NonEmpty").ToArray());
        CollectionAssert.AreEqual(new[] { 3f, 1f, 0f }, output.GetColumn<float[]>("Count").Select(v => v[0]).ToArray());
        CollectionAssert.AreEqual(new[] { "Set", "Size", "NonEmpty", "Count" }.OrderBy(s => s).ToArray(),
            output.Schema.Select(c => c.Name).OrderBy(s => s).ToArray());
        CollectionAssert.AreEqual(t.Spec.GetOutputColumns().Select(c => c.Name).ToArray(), t.OutputColumnNames.ToArray());
    }

    [TestMethod]
    public void ASpecThatNeedsGradientsWhilePredictingGetsThem()
    {
        // Prediction runs in inference mode unless the spec says its forward pass takes gradients (then no_grad, which
        // enable_grad lifts); the flag is code, not model: never written into the model file.
        var ml = new MLContext(seed: 1);
        var spec = new GradientSpec();
        spec.Inputs.Add(new ModelInput { ColumnName = "Set", Kind = ModelInputKind.Set, ElementDimension = 2 });
        using var t = new SetModelTransformer(ml, spec, spec.CreateNetwork(), SetML.Training.SetDevice.Cpu, predictionBatchSize: 2);
        CollectionAssert.AreEqual(new[] { 42f, 30f, 0f }, t.Transform(Data(ml)).GetColumn<float>("TwiceTheSum").ToArray());
        foreach (var zip in Directory.GetFiles(Golden.GoldenModelTests.Folder(Golden.GoldenModelTests.Versions.Max()), "*.zip"))
        {
            var model = ml.Model.Load(zip, out _);
            foreach (var saved in (model as IEnumerable<ITransformer> ?? new[] { model }).OfType<SetModelTransformer>())
                Assert.IsFalse(SpecJson.Serialize(saved.Spec).Contains(nameof(ModelSpec.PredictsWithGradients)), zip);
            (model as IDisposable)?.Dispose();
        }
    }

    [TestMethod]
    public void AnExtractorReturningTheWrongNumberOfRowsIsAClearError()
    {
        var ml = new MLContext(seed: 1);
        using var t = Transformer(ml, new SetStatisticsSpec { WrongLength = true });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => t.Transform(Data(ml)).GetColumn<float[]>("Count").ToArray());
        StringAssert.Contains(e.Message, "'Count'");
        StringAssert.Contains(e.Message, "1 values for a batch of 2 rows");
    }
}
