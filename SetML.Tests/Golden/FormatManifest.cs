using System.Text;
using System.Text.Json.Serialization.Metadata;
using Microsoft.ML;
using SetML.Models;
using SetML.Persistence;
using SetML.Transforms;

namespace SetML.Tests.Golden;

/// <summary>
/// Every name SetML writes into model files, as text: the format versions, each spec component's stable name, version
/// and JSON members (with enum member names), and the stable weight names and shapes of every golden model.
/// <see cref="SpecFormatTests"/> compares it with the committed <c>Golden/format-manifest.txt</c>; rewrite that file with
/// <c>dotnet SetML.Tests/bin/Release/net10.0/SetML.Tests.dll make-format-manifest SetML.Tests/Golden/format-manifest.txt</c>
/// only for additions (or a format version bump with its migration).
/// </summary>
public static class FormatManifest
{
    /// <summary>The committed manifest's file name (in the Golden folder).</summary>
    public const string FileName = "format-manifest.txt";

    /// <summary>Builds the manifest of this build of SetML.</summary>
    public static string Build()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Names written into SetML model files (generated; see SetML.Tests/Golden/FormatManifest.cs).");
        sb.AppendLine($"format {SetModelTransformer.CurrentFormatVersion}");
        sb.AppendLine($"weights-format {SetModelTransformer.CurrentWeightsFormatVersion}");
        var product = new[] { typeof(ModelSpec).Assembly, typeof(SetTrainersCatalog).Assembly };
        foreach (var c in SpecJson.Components.Values.Where(c => product.Contains(c.Type.Assembly)).OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            sb.AppendLine($"component {c.Name} v{c.Version}{(c.Explicit ? "" : "   <-- no [SpecType]: the C# class name is written; add [SpecType(\"...\")]")}");
            Members(sb, c.Type, "  ", new HashSet<Type>());
        }
        int newest = GoldenModelTests.Versions.Max();
        foreach (var zip in Directory.GetFiles(GoldenModelTests.Folder(newest), "*.zip").Order(StringComparer.Ordinal))
        {
            var model = new MLContext(0).Model.Load(zip, out _);
            int i = 0;
            foreach (var t in SetMLTransformers(model))
            {
                sb.AppendLine($"weights {Path.GetFileNameWithoutExtension(zip)}{(i++ > 0 ? $" #{i}" : "")}");
                foreach (var (name, tensor) in WeightArchive.StableStateDict(t.Network))
                    sb.AppendLine($"  {name} {tensor.dtype} [{string.Join(", ", tensor.shape)}]");
            }
            (model as IDisposable)?.Dispose();
        }
        return sb.ToString().ReplaceLineEndings("\n");
    }

    private static IEnumerable<SetModelTransformer> SetMLTransformers(ITransformer model)
    {
        if (model is SetModelTransformer s) yield return s;
        else if (model is IEnumerable<ITransformer> chain)
            foreach (var inner in chain)
                foreach (var x in SetMLTransformers(inner)) yield return x;
    }

    private static void Members(StringBuilder sb, Type type, string indent, HashSet<Type> seen)
    {
        if (!seen.Add(type)) return;
        var info = SpecJson.Options.GetTypeInfo(type);
        // A property the contract never reads from the spec ([JsonIgnore]: no getter in the contract) is never written.
        foreach (var p in info.Properties.Where(p => p.Get != null).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            sb.AppendLine($"{indent}{p.Name}: {Describe(p.PropertyType)}{(p.Set == null ? " (read-only)" : "")}");
            var element = Element(p.PropertyType);
            if (IsPlainObject(element)) Members(sb, element, indent + "  ", seen);
        }
        seen.Remove(type);
    }

    private static Type Element(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t.IsArray) return Element(t.GetElementType()!);
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>)) return Element(t.GetGenericArguments()[0]);
        return t;
    }

    private static bool IsPlainObject(Type t) => t.IsClass && t != typeof(string) && !t.IsAbstract;

    private static string Describe(Type t)
    {
        var u = Nullable.GetUnderlyingType(t);
        if (u != null) return Describe(u) + "?";
        if (t.IsArray) return "array of " + Describe(t.GetElementType()!);
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>)) return "array of " + Describe(t.GetGenericArguments()[0]);
        if (t.IsEnum) return "enum(" + string.Join("|", Enum.GetNames(t)) + ")";
        if (t == typeof(string)) return "string";
        if (t == typeof(bool)) return "boolean";
        if (t == typeof(int) || t == typeof(long)) return "integer";
        if (t == typeof(float) || t == typeof(double)) return "number";
        if (t.IsAbstract) return "component";
        return "object";
    }
}
