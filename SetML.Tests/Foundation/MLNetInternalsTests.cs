using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Persistence;

namespace SetML.Tests.Foundation;

/// <summary>
/// Fails loudly if a future ML.NET moves or renames any internal member SetML's persistence relies on
/// (SetML.Transforms/Persistence/MLNetInternals.cs). Checked by reflection against the loaded assemblies.
/// </summary>
[TestClass]
public sealed class MLNetInternalsTests
{
    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
    private static readonly Assembly Core = typeof(ModelSaveContext).Assembly;

    private static Type CoreType(string name) => Core.GetType(name) ?? throw new AssertFailedException($"Microsoft.ML.Core no longer has {name}");

    [TestMethod]
    public void LoadedMLNetIsThePinnedVersion()
    {
        StringAssert.StartsWith(MLNetInternals.LoadedMLNetVersion(), MLNetInternals.ExpectedMLNetVersion);
        MLNetInternals.EnsureSupportedVersion();
    }

    [TestMethod]
    public void ModelSaveContextMembersExist()
    {
        var t = typeof(ModelSaveContext);
        Assert.IsNotNull(t.GetMethod("CheckAtModel", All, Type.EmptyTypes), "ModelSaveContext.CheckAtModel()");
        Assert.IsNotNull(t.GetMethod("SetVersionInfo", All, new[] { CoreType("Microsoft.ML.VersionInfo") }), "ModelSaveContext.SetVersionInfo(VersionInfo)");
        Assert.IsNotNull(t.GetMethod("SaveBinaryStream", All, new[] { typeof(string), typeof(Action<BinaryWriter>) }), "ModelSaveContext.SaveBinaryStream");
        Assert.AreEqual(typeof(BinaryWriter), t.GetField("Writer", All)?.FieldType, "ModelSaveContext.Writer");
    }

    [TestMethod]
    public void ModelLoadContextMembersExist()
    {
        var t = CoreType("Microsoft.ML.ModelLoadContext");
        Assert.IsNotNull(t.GetMethod("CheckAtModel", All, Type.EmptyTypes), "ModelLoadContext.CheckAtModel()");
        Assert.IsNotNull(t.GetMethod("CheckVersionInfo", All, new[] { CoreType("Microsoft.ML.VersionInfo") }), "ModelLoadContext.CheckVersionInfo");
        Assert.IsNotNull(t.GetMethod("TryLoadBinaryStream", All, new[] { typeof(string), typeof(Action<BinaryReader>) }), "ModelLoadContext.TryLoadBinaryStream");
        Assert.AreEqual(typeof(BinaryReader), t.GetField("Reader", All)?.FieldType, "ModelLoadContext.Reader");
    }

    [TestMethod]
    public void VersionInfoAndLoadableClassExist()
    {
        var vi = CoreType("Microsoft.ML.VersionInfo");
        Assert.IsNotNull(vi.GetConstructor(All, new[] { typeof(string), typeof(uint), typeof(uint), typeof(uint), typeof(string), typeof(string), typeof(string) }), "VersionInfo ctor");
        var lc = CoreType("Microsoft.ML.LoadableClassAttribute");
        Assert.IsNotNull(lc.GetConstructor(All, new[] { typeof(Type), typeof(Type), typeof(Type), typeof(Type), typeof(string), typeof(string[]) }), "LoadableClassAttribute(instance, loader, args, signature, name, loadNames)");
        Assert.IsNotNull(CoreType("Microsoft.ML.SignatureLoadModel"));
    }

    [TestMethod]
    public void OurLoadableClassIsRegistered()
    {
        var attrs = typeof(SetML.Transforms.SetModelTransformer).Assembly.GetCustomAttributes()
            .Where(a => a.GetType().FullName == "Microsoft.ML.LoadableClassAttribute").ToList();
        Assert.IsTrue(attrs.Count >= 1, "no [LoadableClass] on SetML.Transforms");
        var ignores = typeof(SetML.Transforms.SetModelTransformer).Assembly.GetCustomAttributes()
            .Where(a => a.GetType().Name == "IgnoresAccessChecksToAttribute").ToList();
        Assert.AreEqual("Microsoft.ML.Core", ignores.Single().GetType().GetProperty("AssemblyName")!.GetValue(ignores[0]));
    }

    [TestMethod]
    public void SchemaShapeInternalsExist()
    {
        var ctor = typeof(SchemaShape.Column).GetConstructor(All, new[] { typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape) });
        Assert.IsNotNull(ctor, "SchemaShape.Column internal constructor");
        Assert.IsNotNull(typeof(SchemaShape).GetMethod("TryFindColumn", All), "SchemaShape.TryFindColumn");
        Assert.IsNotNull(typeof(SchemaShape).GetMethod("Create", All, new[] { typeof(DataViewSchema) }), "SchemaShape.Create");
        var col = SchemaShapes.Column("x", SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
        Assert.AreEqual("x", col.Name);
    }

    [TestMethod]
    public void CatalogEnvironmentIsReachable()
    {
        var ml = new MLContext();
        Assert.IsNotNull(MLNetInternals.GetEnvironment(ml.Transforms));
        Assert.IsNotNull(MLNetInternals.GetEnvironment(ml.Regression.Trainers));
        Assert.IsNotNull(MLNetInternals.GetEnvironment(ml.MulticlassClassification.Trainers));
        Assert.ThrowsExactly<ArgumentException>(() => MLNetInternals.GetEnvironment(new object()));
    }
}
