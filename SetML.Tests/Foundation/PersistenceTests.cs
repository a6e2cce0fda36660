using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Training;
using SetML.Transforms;

namespace SetML.Tests.Foundation;

/// <summary>
/// Saving and loading SetML transformers inside ML.NET pipelines: fresh MLContext, separate process, and clear
/// errors for truncated, corrupted and too-new model files.
/// </summary>
[TestClass]
public sealed class PersistenceTests
{
    private static string _dir = "";
    private static string _modelPath = "";
    private static float[][] _sets = Array.Empty<float[]>();
    private static (int[] Transform, int[] Engine) _before;

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("setml-persist-").FullName;
        var ml = new MLContext(seed: 1);
        var train = TestSets.Load(ml, TestSets.Points(400, 11));
        // built-in ML.NET transform → SetML Deep Sets featurizer → built-in ML.NET trainer
        var pipeline = ml.Transforms.CopyColumns("SetCopy", "Points")
            .Append(ml.Transforms.DeepSets("Embedding", "SetCopy", 2, "Label", new SetFeaturizerOptions
            {
                Epochs = 3, BatchSize = 32, Seed = 5,
                Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 16 }, LatentDimension = 16, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 8, Pooling = SetML.Modules.PoolingKind.Max },
            }))
            .Append(ml.Transforms.Concatenate("Features", "Embedding"))
            // SDCA wants normalized features (unnormalized, 20 iterations can diverge to scores of 1e7 on some embeddings).
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(ml.Regression.Trainers.Sdca("Label", "Features", maximumNumberOfIterations: 20));
        var model = pipeline.Fit(train);
        _modelPath = Path.Combine(_dir, "model.zip");
        ml.Model.Save(model, train.Schema, _modelPath);
        _sets = TestSets.Points(50, 99).Select(r => r.Points).Append(Array.Empty<float>()).ToArray();
        _before = ModelCheckProgram.Predict(ml, model, _sets);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [TestMethod]
    public void BeforeSave_TransformAndPredictionEngineAgree()
    {
        var t = _before.Transform.Select(BitConverter.Int32BitsToSingle).ToArray();
        var e = _before.Engine.Select(BitConverter.Int32BitsToSingle).ToArray();
        for (int i = 0; i < t.Length; i++) Assert.AreEqual(t[i], e[i], 1e-5, $"row {i}");
        Assert.IsTrue(t.All(float.IsFinite));
    }

    [TestMethod]
    public void LoadInFreshContext_PredictionsBitwiseIdentical()
    {
        var ml = new MLContext(seed: 77);
        var loaded = ml.Model.Load(_modelPath, out var schema);
        Assert.IsNotNull(schema.GetColumnOrNull("Points"));
        var after = ModelCheckProgram.Predict(ml, loaded, _sets);
        CollectionAssert.AreEqual(_before.Transform, after.Transform, "Transform");
        CollectionAssert.AreEqual(_before.Engine, after.Engine, "PredictionEngine");
    }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public void LoadInSeparateProcess_PredictionsBitwiseIdentical()
    {
        string input = Path.Combine(_dir, "input.json"), output = Path.Combine(_dir, "output.json");
        File.WriteAllText(input, JsonSerializer.Serialize(_sets));
        var (exited, exitCode, err) = Reliability.ChildProcess.Run(TimeSpan.FromMinutes(2), 0, "predict-model", _modelPath, input, output);
        Assert.IsTrue(exited, "helper process hung");
        Assert.AreEqual(0, exitCode, "helper process failed: " + err);
        var result = JsonSerializer.Deserialize<Dictionary<string, int[]>>(File.ReadAllText(output))!;
        CollectionAssert.AreEqual(_before.Transform, result["transform"], "Transform");
        CollectionAssert.AreEqual(_before.Engine, result["engine"], "PredictionEngine");
    }

    [TestMethod]
    public void TruncatedModelFile_ThrowsManagedException()
    {
        var bytes = File.ReadAllBytes(_modelPath);
        foreach (var fraction in new[] { 0.3, 0.7, 0.95 })
        {
            var path = Path.Combine(_dir, $"truncated-{fraction}.zip");
            File.WriteAllBytes(path, bytes.AsSpan(0, (int)(bytes.Length * fraction)).ToArray());
            var ml = new MLContext();
            var e = Assert.Throws<Exception>(() => ml.Model.Load(path, out _));
            Assert.IsFalse(string.IsNullOrWhiteSpace(e.Message));
        }
    }

    [TestMethod]
    public void CorruptedWeights_ThrowsChecksumError()
    {
        var path = CopyWithEntry(_modelPath, "corrupted.zip", "SetMLWeights.bin", b => { b[b.Length / 2] ^= 0x40; return b; });
        var e = Assert.Throws<Exception>(() => new MLContext().Model.Load(path, out _));
        var format = Find<SetMLModelFormatException>(e);
        Assert.IsNotNull(format, "expected a SetMLModelFormatException in " + e);
        StringAssert.Contains(format.Message, "corrupted");
    }

    [TestMethod]
    public void TruncatedWeightsEntry_ThrowsClearError()
    {
        var path = CopyWithEntry(_modelPath, "short-weights.zip", "SetMLWeights.bin", b => b.AsSpan(0, b.Length / 3).ToArray());
        var e = Assert.Throws<Exception>(() => new MLContext().Model.Load(path, out _));
        var format = Find<SetMLModelFormatException>(e);
        Assert.IsNotNull(format, "expected a SetMLModelFormatException in " + e);
        StringAssert.Contains(format.Message, "truncated");
    }

    [TestMethod]
    public void ModelFromNewerFormatVersion_ThrowsClearError()
    {
        var ml = new MLContext(0);
        var model = ml.Transforms.DeepSets("E", "Points", 2, "Label", new SetFeaturizerOptions { Epochs = 1 }).Fit(TestSets.Load(ml, TestSets.Points(20, 3)));
        var path = Path.Combine(_dir, "newer.zip");
        SetModelTransformer.FormatVersionForWriting = SetModelTransformer.CurrentFormatVersion + 1;
        try { ml.Model.Save(model, null, path); }
        finally { SetModelTransformer.FormatVersionForWriting = SetModelTransformer.CurrentFormatVersion; }
        var e = Assert.Throws<Exception>(() => new MLContext().Model.Load(path, out _));
        var format = Find<SetMLModelFormatException>(e);
        Assert.IsNotNull(format, "expected a SetMLModelFormatException in " + e);
        StringAssert.Contains(format.Message, $"format version {SetModelTransformer.CurrentFormatVersion + 1}");
        StringAssert.Contains(format.Message, "Update the SetML packages");
    }

    [TestMethod]
    public void SingleTransformerSaveLoad_KeepsSpecAndOutputSchema()
    {
        var ml = new MLContext(0);
        var data = TestSets.Load(ml, TestSets.Points(30, 4));
        var model = ml.Transforms.DeepSets("E", "Points", 2, "Label", new SetFeaturizerOptions { Epochs = 1 }).Fit(data);
        using var ms = new MemoryStream();
        ml.Model.Save(model, data.Schema, ms);
        ms.Position = 0;
        var loaded = (SetModelTransformer)new MLContext().Model.Load(ms, out _);
        Assert.AreEqual(SpecJson.Serialize(model.Spec), SpecJson.Serialize(loaded.Spec));
        var a = model.Transform(data).GetColumn<float[]>("E").ToArray();
        var b = loaded.Transform(data).GetColumn<float[]>("E").ToArray();
        for (int i = 0; i < a.Length; i++) CollectionAssert.AreEqual(a[i], b[i]);
        Assert.AreEqual(new DeepSetsOptions().EmbeddingDimension, ((VectorDataViewType)loaded.GetOutputSchema(data.Schema)["E"].Type).Size);
    }

    private static string CopyWithEntry(string source, string name, string entrySuffix, Func<byte[], byte[]> change)
    {
        var path = Path.Combine(_dir, name);
        File.Copy(source, path, true);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(entrySuffix, StringComparison.Ordinal));
        byte[] bytes;
        using (var s = entry.Open()) { using var ms = new MemoryStream(); s.CopyTo(ms); bytes = ms.ToArray(); }
        string fullName = entry.FullName;
        entry.Delete();
        var replaced = zip.CreateEntry(fullName);
        using (var s = replaced.Open()) s.Write(change(bytes));
        return path;
    }

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e != null; e = e.InnerException) if (e is T t) return t;
        return null;
    }
}
