using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.SetColumns;
using SetML.Training;

namespace SetML.Tests.Foundation;

/// <summary>Each validation rule of the set-column contract gives an exception naming column, row and rule.</summary>
[TestClass]
public sealed class SetColumnValidationTests
{
    private static readonly SetFeaturizerOptions Tiny = new()
    {
        Epochs = 1, BatchSize = 8,
        Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 8 }, LatentDimension = 8, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 4 },
        HeadHiddenSizes = Array.Empty<int>(),
    };

    private static SetColumnException FitFails(IEnumerable<PointSetRow> rows, int d = 2, SetFeaturizerOptions? o = null, string column = "Points")
    {
        var ml = new MLContext(0);
        var data = TestSets.Load(ml, rows);
        return Assert.ThrowsExactly<SetColumnException>(() => ml.Transforms.DeepSets("E", column, d, "Label", o ?? Tiny).Fit(data));
    }

    private static void AssertNames(SetColumnException e, string column, long? row, SetRule rule)
    {
        Assert.AreEqual(column, e.ColumnName);
        Assert.AreEqual(row, e.Row);
        Assert.AreEqual(rule, e.Rule);
        StringAssert.Contains(e.Message, $"'{column}'");
        StringAssert.Contains(e.Message, $"rule: {rule}");
        if (row.HasValue) StringAssert.Contains(e.Message, $"row {row.Value}");
    }

    private static List<PointSetRow> Good(int n = 12) => TestSets.Points(n, 1);

    [TestMethod]
    public void LengthNotMultipleOfDimension_NamesColumnRowRule()
    {
        var rows = Good();
        rows[5].Points = new[] { 0.1f, 0.2f, 0.3f };
        AssertNames(FitFails(rows), "Points", 5, SetRule.LengthMultipleOfDimension);
    }

    [TestMethod]
    public void NaN_NamesColumnRowRule()
    {
        var rows = Good();
        rows[7].Points = new[] { 0.1f, float.NaN };
        var e = FitFails(rows);
        AssertNames(e, "Points", 7, SetRule.FiniteValues);
        StringAssert.Contains(e.Message, "NaN");
    }

    [TestMethod]
    public void Infinity_NamesColumnRowRule()
    {
        var rows = Good();
        rows[3].Points = new[] { float.PositiveInfinity, 0.2f };
        AssertNames(FitFails(rows), "Points", 3, SetRule.FiniteValues);
    }

    [TestMethod]
    public void EmptySetWhereNotAllowed_NamesColumnRowRule()
    {
        var rows = Good();
        rows[2].Points = Array.Empty<float>();
        var o = SpecCopy(Tiny); o.AllowEmptySets = false;
        AssertNames(FitFails(rows, o: o), "Points", 2, SetRule.NonEmpty);
    }

    [TestMethod]
    public void SetLargerThanMaximum_NamesColumnRowRule()
    {
        var rows = Good();
        rows[9].Points = new float[2 * 20];
        var o = SpecCopy(Tiny); o.MaximumSetSize = 10;
        var e = FitFails(rows, o: o);
        AssertNames(e, "Points", 9, SetRule.MaximumSize);
        StringAssert.Contains(e.Message, "20 elements");
    }

    [TestMethod]
    public void MissingColumn_NamesColumnAndRule()
        => AssertNames(FitFails(Good(), column: "Nope"), "Nope", null, SetRule.ColumnExists);

    [TestMethod]
    public void WrongColumnType_NamesColumnAndRule()
        => AssertNames(FitFails(Good(), column: "Label"), "Label", null, SetRule.ColumnType);

    [TestMethod]
    public void NonPositiveDimension_NamesColumnAndRule()
    {
        var ml = new MLContext(0);
        var e = Assert.ThrowsExactly<SetColumnException>(() => ml.Transforms.DeepSets("E", "Points", 0, "Label", Tiny));
        AssertNames(e, "Points", null, SetRule.ElementDimensionPositive);
        e = Assert.ThrowsExactly<SetColumnException>(() => ml.Regression.Trainers.DeepSets("Label", "Points", -3));
        AssertNames(e, "Points", null, SetRule.ElementDimensionPositive);
    }

    [TestMethod]
    public void FixedSizeVectorNotMultipleOfDimension_IsRejectedAtSchemaTime()
    {
        var schema = new DataViewSchema.Builder();
        schema.AddColumn("Points", new VectorDataViewType(NumberDataViewType.Single, 7));
        var e = Assert.ThrowsExactly<SetColumnException>(() => SetColumn.ValidateSchema(schema.ToSchema(), "Points", 2));
        AssertNames(e, "Points", null, SetRule.LengthMultipleOfDimension);
        SetColumn.ValidateSchema(schema.ToSchema(), "Points", 7); // a fixed-size vector whose size is a multiple of d is accepted
    }

    [TestMethod]
    public void AnnotationDisagreeingWithDeclaredDimension_IsRejected()
    {
        var b = new DataViewSchema.Builder();
        b.AddColumn("Points", new VectorDataViewType(NumberDataViewType.Single), SetColumn.Annotations(3));
        var e = Assert.ThrowsExactly<SetColumnException>(() => SetColumn.ValidateSchema(b.ToSchema(), "Points", 2));
        AssertNames(e, "Points", null, SetRule.ElementDimensionMatchesAnnotation);
        Assert.AreEqual(3, SetColumn.GetElementDimension(b.ToSchema()["Points"]));
    }

    [TestMethod]
    public void EstimatorGetOutputSchema_ValidatesColumns()
    {
        var ml = new MLContext(0);
        var data = TestSets.Load(ml, Good());
        var shape = SetML.Persistence.SchemaShapes.FromSchema(data.Schema);
        var est = ml.Transforms.DeepSets("E", "Points", 2, "Label", Tiny);
        var output = est.GetOutputSchema(shape);
        Assert.IsTrue(SetML.Persistence.SchemaShapes.TryFindColumn(output, "E", out var col));
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, col.Kind);
        var bad = ml.Transforms.DeepSets("E", "Missing", 2, "Label", Tiny);
        AssertNames(Assert.ThrowsExactly<SetColumnException>(() => bad.GetOutputSchema(shape)), "Missing", null, SetRule.ColumnExists);
        var badType = ml.Transforms.DeepSets("E", "Category", 2, "Label", Tiny);
        AssertNames(Assert.ThrowsExactly<SetColumnException>(() => badType.GetOutputSchema(shape)), "Category", null, SetRule.ColumnType);
    }

    [TestMethod]
    public void RowRulesAreCheckedAtPredictionTime_WithTheRowOfThePredictedData()
    {
        var ml = new MLContext(0);
        var model = ml.Transforms.DeepSets("E", "Points", 2, "Label", Tiny).Fit(TestSets.Load(ml, Good()));
        var rows = Good(70);
        rows[66].Points = new[] { 1f, float.NaN, 0.5f, 0.5f };
        var output = model.Transform(TestSets.Load(ml, rows));
        var e = Assert.ThrowsExactly<SetColumnException>(() => output.GetColumn<float[]>("E").ToList());
        AssertNames(e, "Points", 66, SetRule.FiniteValues);
    }

    private static SetFeaturizerOptions SpecCopy(SetFeaturizerOptions o)
        => new() { Epochs = o.Epochs, BatchSize = o.BatchSize, Encoder = o.Encoder, HeadHiddenSizes = o.HeadHiddenSizes };
}
