using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using SetML.Models;
using SetML.Modules;
using SetML.Persistence;
using SetML.Tests.Foundation;
using SetML.Training;
using SetML.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Golden;

/// <summary>
/// The stable model format: names that do not depend on C# class or field names, a committed manifest of every saved
/// name, strict JSON (unknown members, types and newer component versions refused clearly), per-component migrations,
/// and a weights reader that checks every header against the network before reading a value.
/// </summary>
[TestClass]
public sealed class SpecFormatTests
{
    [TestMethod]
    public void SavedNamesMatchTheCommittedManifest()
    {
        string committed = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", FormatManifest.FileName)).ReplaceLineEndings("\n");
        string current = FormatManifest.Build();
        var was = committed.Split('\n').ToHashSet();
        var now = current.Split('\n').ToHashSet();
        var removed = committed.Split('\n').Where(l => !now.Contains(l)).ToList();
        var added = current.Split('\n').Where(l => !was.Contains(l)).ToList();
        Assert.IsTrue(removed.Count == 0 && added.Count == 0,
            "The names SetML writes into model files changed.\n" +
            (removed.Count > 0 ? "Gone or renamed (models saved before would no longer load): keep the old name with [SpecType], [JsonPropertyName] or [WeightName], " +
                "or bump the component's version with a migration (docs/architecture.md, Persistence):\n  " + string.Join("\n  ", removed) + "\n" : "") +
            (added.Count > 0 ? "New (fine if intended; then regenerate SetML.Tests/Golden/format-manifest.txt with " +
                "`dotnet SetML.Tests/bin/Release/net10.0/SetML.Tests.dll make-format-manifest SetML.Tests/Golden/format-manifest.txt`):\n  " + string.Join("\n  ", added) : ""));
    }

    [TestMethod]
    public void EveryShippedComponentHasAnExplicitStableNameUnlikeItsClassName()
    {
        var product = new[] { typeof(ModelSpec).Assembly, typeof(SetTrainersCatalog).Assembly };
        var shipped = SpecJson.Components.Values.Where(c => product.Contains(c.Type.Assembly)).ToList();
        Assert.IsGreaterThanOrEqualTo(19, shipped.Count);
        foreach (var c in shipped)
        {
            Assert.IsTrue(c.Explicit, $"{c.Type.Name} has no [SpecType]: its saved name would follow the C# class name");
            Assert.AreNotEqual(c.Type.Name, c.Name, "stable names are chosen, not derived from the class");
            // what is written is the stable name, whatever the class is called
            if (typeof(SetEncoderOptions).IsAssignableFrom(c.Type))
            {
                var json = SpecJson.Serialize((SetEncoderOptions)Activator.CreateInstance(c.Type)!);
                StringAssert.StartsWith(json, $"{{\"$type\":\"{c.Name}\",\"$version\":{c.Version},");
                Assert.DoesNotContain(c.Type.Name, json);
            }
        }
        // every format-1 class name has a migration to a current stable name
        foreach (var (old, stable) in ModelFormatMigrations.V1TypeNames)
            Assert.IsTrue(SpecJson.Components.ContainsKey(stable), $"v1 name {old} maps to unknown {stable}");
    }

    /// <summary>Two networks that differ only in a field's C# name; the second keeps the old name with [WeightName].</summary>
    private sealed class Before : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear phi = nn.Linear(3, 2);
        public Before() : base("Before") => RegisterComponents();
        public override Tensor forward(Tensor x) => phi.forward(x);
    }

    private sealed class AfterRename : nn.Module<Tensor, Tensor>
    {
        [WeightName("phi")] private readonly TorchSharp.Modules.Linear elementNetwork = nn.Linear(3, 2);
        public AfterRename() : base("AfterRename") => RegisterComponents();
        public override Tensor forward(Tensor x) => elementNetwork.forward(x);
    }

    [TestMethod]
    public void RenamingAWeightFieldWithWeightNameKeepsTheSavedNamesAndValues()
    {
        torch.manual_seed(1);
        using var before = new Before();
        using var after = new AfterRename();
        CollectionAssert.AreEqual(WeightArchive.StableStateDict(before).Select(e => e.Name).ToArray(), new[] { "phi.weight", "phi.bias" });
        CollectionAssert.AreEqual(WeightArchive.StableStateDict(before).Select(e => e.Name).ToArray(),
            WeightArchive.StableStateDict(after).Select(e => e.Name).ToArray());
        CollectionAssert.AreEqual(after.state_dict().Keys.ToArray(), new[] { "elementNetwork.weight", "elementNetwork.bias" }, "TorchSharp's own names did change");
        WeightArchive.Load(WeightArchive.Save(before), after);
        using var x = torch.randn(4, 3);
        using var a = before.forward(x);
        using var b = after.forward(x);
        Assert.IsTrue(a.allclose(b, 0, 0));
    }

    private static string Json(ModelSpec spec) => SpecJson.Serialize(spec);

    private static EncoderModelSpec SmallSpec() => new()
    {
        Inputs = { new ModelInput { ColumnName = "Points", Kind = ModelInputKind.Set, ElementDimension = 2 } },
        Encoder = new DeepSetsOptions { PhiHiddenSizes = new[] { 4 }, LatentDimension = 4, RhoHiddenSizes = Array.Empty<int>(), EmbeddingDimension = 3 },
        HeadHiddenSizes = new[] { 4 },
    };

    private static string Edit(string json, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        edit(node);
        return node.ToJsonString();
    }

    [TestMethod]
    public void UnknownMembersTypesNewerVersionsAndIntegerEnumsAreRefusedByName()
    {
        string json = Json(SmallSpec());
        Assert.IsInstanceOfType<EncoderModelSpec>(SpecJson.Deserialize<ModelSpec>(json));

        var e = Assert.Throws<JsonException>(() => SpecJson.Deserialize<ModelSpec>(Edit(json, o => o["Encoder"]!.AsObject()["Frobnicate"] = 1)));
        StringAssert.Contains(e.Message, "Frobnicate");

        e = Assert.Throws<JsonException>(() => SpecJson.Deserialize<ModelSpec>(Edit(json, o => o["Encoder"]!.AsObject()["$type"] = "encoder.from-the-future")));
        StringAssert.Contains(e.Message, "Unknown component type 'encoder.from-the-future' at $.Encoder");

        e = Assert.Throws<JsonException>(() => SpecJson.Deserialize<ModelSpec>(Edit(json, o => o["Encoder"]!.AsObject()["$version"] = 9)));
        StringAssert.Contains(e.Message, "Component 'encoder.deep-sets' at $.Encoder has format version 9, but this SetML reads versions up to 1");

        e = Assert.Throws<JsonException>(() => SpecJson.Deserialize<ModelSpec>(Edit(json, o => o.Remove("$version"))));
        StringAssert.Contains(e.Message, "has no integer '$version'");

        Assert.Throws<JsonException>(() => SpecJson.Deserialize<ModelSpec>(Edit(json, o => o["Task"] = 2)));
    }

    [TestMethod]
    public void UnknownMemberInAModelFileFailsTheLoadWithASetMLFormatError()
    {
        var ml = new MLContext(0);
        var data = TestSets.Load(ml, TestSets.Points(16, 3));
        using var model = ml.Transforms.DeepSets("E", "Points", 2, "Label", new SetFeaturizerOptions { Epochs = 1, Encoder = SmallSpec().Encoder }).Fit(data);
        using var ms = new MemoryStream();
        SetModelTransformer.SpecJsonRewriterForWriting = j => Edit(j, o => o["Encoder"]!.AsObject()["AddedInSetML99"] = true);
        try { ml.Model.Save(model, data.Schema, ms); }
        finally { SetModelTransformer.SpecJsonRewriterForWriting = null; }
        ms.Position = 0;
        var ex = Assert.Throws<Exception>(() => new MLContext().Model.Load(ms, out _));
        for (; ex != null && ex is not SetMLModelFormatException; ex = ex.InnerException) { }
        Assert.IsNotNull(ex);
        StringAssert.Contains(ex.Message, "'AddedInSetML99'");
    }

    /// <summary>A component at version 2 whose version 1 called <see cref="Width"/> "OldWidth".</summary>
    [SpecType("test.migrated-encoder", 2)]
    public sealed class MigratedEncoderOptions : SetEncoderOptions
    {
        public int Width { get; set; } = 8;
        public override DeepSetsEncoder CreateEncoder(int elementDimension) => new DeepSetsOptions { EmbeddingDimension = Width }.CreateEncoder(elementDimension);
    }

    [TestMethod]
    public void OlderComponentVersionsAreMigratedStepByStep()
    {
        SpecJson.Migrations[("test.migrated-encoder", 1)] = o => { o["Width"] = o["OldWidth"]!.DeepClone(); o.Remove("OldWidth"); };
        try
        {
            var v1 = "{\"$type\":\"test.migrated-encoder\",\"$version\":1,\"OldWidth\":7}";
            Assert.AreEqual(7, ((MigratedEncoderOptions)SpecJson.Deserialize<SetEncoderOptions>(v1)).Width);
            StringAssert.Contains(SpecJson.Serialize<SetEncoderOptions>(new MigratedEncoderOptions { Width = 7 }), "\"$version\":2,\"Width\":7");
        }
        finally { SpecJson.Migrations.Remove(("test.migrated-encoder", 1)); }
        var e = Assert.Throws<JsonException>(() => SpecJson.Deserialize<SetEncoderOptions>("{\"$type\":\"test.migrated-encoder\",\"$version\":1,\"OldWidth\":7}"));
        StringAssert.Contains(e.Message, "no migration from it");
    }

    private static byte[] Blob(Action<BinaryWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms)) write(w);
        return ms.ToArray();
    }

    [TestMethod]
    public void WeightsHeaderIsCheckedAgainstTheNetworkBeforeAnyValueIsRead()
    {
        using var net = new Before();
        byte[] good = WeightArchive.Save(net);
        void Fails(byte[] blob, string expected)
        {
            var e = Assert.ThrowsExactly<SetMLWeightsException>(() => WeightArchive.Load(blob, net));
            StringAssert.Contains(e.Message, expected);
        }
        static void Leb(BinaryWriter w, ulong v) => WeightArchive.WriteLeb(w, v);
        Fails(Blob(w => Leb(w, 3)), "the weights hold 3 tensors, but the model specification's network has 2");
        Fails(Blob(w => Leb(w, ulong.MaxValue)), "the weights hold");
        Fails(Blob(w => { Leb(w, 2); w.Write("psi.weight"); }), "'psi.weight', which the model specification's network does not have");
        Fails(Blob(w => { Leb(w, 2); Leb(w, 5000); }), "a weight name is 5000 bytes long");
        Fails(Blob(w => { Leb(w, 2); w.Write("phi.weight"); Leb(w, 7); }), "dtype code 7, but the network expects Float32");
        Fails(Blob(w => { Leb(w, 2); w.Write("phi.weight"); Leb(w, 6); Leb(w, 40); }), "declares 40 dimensions");
        Fails(Blob(w => { Leb(w, 2); w.Write("phi.weight"); Leb(w, 6); Leb(w, 2); Leb(w, 1UL << 40); Leb(w, 1UL << 40); }), "larger than the whole weights entry");
        Fails(Blob(w => { Leb(w, 2); w.Write("phi.weight"); Leb(w, 6); Leb(w, 2); Leb(w, 3); Leb(w, 2); }), "has shape [3, 2], but the model specification's network expects [2, 3]");
        Fails(Blob(w => { Leb(w, 2); w.Write("phi.weight"); Leb(w, 6); Leb(w, 2); Leb(w, 2); Leb(w, 3); w.Write(new byte[5]); }), "needs 24 bytes, but only 5 remain");
        Fails(good.Concat(new byte[] { 1 }).ToArray(), "1 unexpected bytes follow the last tensor");
        Fails(good.AsSpan(0, good.Length - 1).ToArray(), "remain in the weights entry");
        using var before = net.state_dict()["phi.weight"].clone();
        Fails(Blob(w => { Leb(w, 2); w.Write("phi.weight"); Leb(w, 6); Leb(w, 2); Leb(w, 2); Leb(w, 3); w.Write(new byte[24]); w.Write("phi.weight"); }), "appears twice");
        Assert.IsTrue(before.allclose(net.state_dict()["phi.weight"], 0, 0), "a refused file changed no weight");
    }
}
