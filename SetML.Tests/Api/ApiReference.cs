using System.Reflection;
using System.Text;
using System.Xml.Linq;
using Microsoft.ML;
using SetML.Models;
using SetML.Training;

namespace SetML.Tests.Api;

/// <summary>
/// Builds <c>docs/api.md</c>: SetML's public surface (catalog methods, options with their defaults, estimators and
/// transformers, every other public type) from reflection and the XML documentation. A build tool, not a sample:
/// <c>dotnet SetML.Tests/bin/Release/net10.0/SetML.Tests.dll api-reference docs/api.md</c> (after a Release build)
/// regenerates the page.
/// </summary>
public static class ApiReference
{
    /// <summary>The command that regenerates docs/api.md (run from the repository root after a Release build).</summary>
    public const string Command = "dotnet SetML.Tests/bin/Release/net10.0/SetML.Tests.dll api-reference docs/api.md";

    private static readonly Dictionary<string, XElement> Docs = new();

    /// <summary>Writes api.md to <paramref name="path"/> and a one-line summary to <paramref name="log"/>.</summary>
    public static void Write(string path, TextWriter log)
    {
        _ = typeof(SetTrainersCatalog);
        var assemblies = new[] { typeof(SetEncoderOptions).Assembly, typeof(SetTrainersCatalog).Assembly }
            .Concat(AppDomain.CurrentDomain.GetAssemblies().Where(a => a.GetName().Name is { } n && n.StartsWith("SetML.") && n != "SetML.Samples" && n != "SetML.Tests"))
            .Distinct().OrderBy(a => a.GetName().Name).ToList();
        foreach (var a in assemblies) LoadDocs(a);
        var types = assemblies.SelectMany(a => a.GetExportedTypes()).Where(t => !t.IsNested || t.IsNestedPublic).OrderBy(t => t.Namespace).ThenBy(t => t.Name).ToList();

        var md = new StringBuilder();
        md.AppendLine("# SetML API reference");
        md.AppendLine();
        md.AppendLine($"Generated from the assemblies and their XML documentation by `{Command}`");
        md.AppendLine($"(assemblies: {string.Join(", ", assemblies.Select(a => a.GetName().Name))}). Do not edit by hand; regenerate.");
        md.AppendLine();
        md.AppendLine("Contents: [Catalog methods](#catalog-methods) · [Options](#options) · [Estimators and transformers](#estimators-and-transformers) · [Other public types](#other-public-types)");

        // 1. Catalog extension methods.
        md.AppendLine().AppendLine("## Catalog methods").AppendLine();
        md.AppendLine("Extension methods on ML.NET's catalogs (`mlContext.Transforms`, `mlContext.Regression.Trainers`, …).").AppendLine();
        var catalogs = types.Where(t => t.IsAbstract && t.IsSealed && t.GetMethods(BindingFlags.Public | BindingFlags.Static).Any(m => m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute))))
            .ToList();
        int methods = 0;
        foreach (var c in catalogs)
        {
            md.AppendLine($"### {c.Name}").AppendLine().AppendLine(Summary(c)).AppendLine();
            foreach (var m in c.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute)))
                         .OrderBy(m => CatalogOf(m)).ThenBy(m => m.Name))
            {
                methods++;
                md.AppendLine($"- **`{CatalogOf(m)}.{m.Name}`**`({string.Join(", ", m.GetParameters().Skip(1).Select(Param))})` → `{TypeName(m.ReturnType)}`  ");
                md.AppendLine($"  {Summary(m)}");
            }
            md.AppendLine();
        }

        // 2. Options with defaults.
        md.AppendLine("## Options").AppendLine();
        md.AppendLine("Option classes with every settable property and its default (read from `new T()`). Training options are inherited: " +
                      "`SetTrainingOptions` → `SetModelOptions` → task options. Encoder options (`SetEncoderOptions` subclasses) go in `SetModelOptions.Encoder`.").AppendLine();
        var optionTypes = types.Where(t => t.IsClass && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) != null &&
                                           (typeof(SetTrainingOptions).IsAssignableFrom(t) || typeof(SetEncoderOptions).IsAssignableFrom(t) || t.Name.EndsWith("Options")))
            .OrderBy(t => typeof(SetEncoderOptions).IsAssignableFrom(t) ? 1 : 0).ThenBy(t => Depth(t)).ThenBy(t => t.Name).ToList();
        foreach (var t in optionTypes)
        {
            object instance;
            try { instance = Activator.CreateInstance(t)!; }
            catch (Exception) { continue; }
            md.AppendLine($"### {t.Name}").AppendLine();
            md.AppendLine($"{Summary(t)}{(t.BaseType is { } b && b != typeof(object) ? $" Inherits `{TypeName(b)}`." : "")}").AppendLine();
            md.AppendLine("| Property | Type | Default | Description |").AppendLine("|---|---|---|---|");
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic && p.DeclaringType == t))
            {
                string value;
                try { value = Value(p.GetValue(instance)); } catch (Exception) { value = "?"; }
                md.AppendLine($"| `{p.Name}` | `{TypeName(p.PropertyType)}` | {value} | {Summary(p).Replace("|", "\\|")} |");
            }
            var inherited = t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.DeclaringType != t && p.DeclaringType != typeof(object)).Select(p => $"`{p.Name}`").ToList();
            if (inherited.Count > 0) md.AppendLine().AppendLine($"Inherited: {string.Join(", ", inherited)}.");
            md.AppendLine();
        }

        // 3. Estimators and transformers.
        md.AppendLine("## Estimators and transformers").AppendLine();
        var mlTypes = types.Where(t => t.IsClass && (Implements(t, typeof(IEstimator<>)) || typeof(ITransformer).IsAssignableFrom(t))).ToList();
        foreach (var t in mlTypes) md.AppendLine($"- **`{TypeName(t)}`** ({t.Namespace}): {Summary(t)}");
        md.AppendLine();

        // 4. Everything else.
        md.AppendLine("## Other public types").AppendLine();
        var rest = types.Except(catalogs).Except(optionTypes).Except(mlTypes).ToList();
        foreach (var g in rest.GroupBy(t => t.Namespace ?? ""))
        {
            md.AppendLine($"### {g.Key}").AppendLine();
            foreach (var t in g)
            {
                string kind = t.IsEnum ? "enum" : t.IsInterface ? "interface" : t.IsValueType ? "struct" : t.IsAbstract && t.IsSealed ? "static class" : t.IsAbstract ? "abstract class" : "class";
                md.Append($"- **`{TypeName(t)}`** ({kind}): {Summary(t)}");
                if (t.IsEnum) md.Append(" Values: " + string.Join(", ", Enum.GetNames(t).Select(n => $"`{n}`")) + ".");
                md.AppendLine();
            }
            md.AppendLine();
        }

        File.WriteAllText(path, md.ToString());
        log.WriteLine($"Wrote {path}: {catalogs.Count} catalog classes ({methods} methods), {optionTypes.Count} option classes, {mlTypes.Count} estimators/transformers, {rest.Count} other types.");
    }

    private static int Depth(Type t) { int d = 0; for (var b = t.BaseType; b != null; b = b.BaseType) d++; return d; }

    private static bool Implements(Type t, Type generic) => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == generic);

    private static string CatalogOf(MethodInfo m)
    {
        var t = m.GetParameters()[0].ParameterType;
        return t.DeclaringType is { } outer ? $"{outer.Name.Replace("Catalog", "")}.{t.Name.Replace(outer.Name.Replace("Catalog", ""), "").Replace("Trainers", "Trainers")}" : t.Name;
    }

    private static string Param(ParameterInfo p)
        => $"{TypeName(p.ParameterType)} {p.Name}" + (p.HasDefaultValue ? " = " + (p.DefaultValue switch { null => "null", string s => $"\"{s}\"", bool b => b ? "true" : "false", var v => v.ToString() }) : "");

    private static string Value(object? v) => v switch
    {
        null => "null",
        string s => $"`\"{s}\"`",
        bool b => b ? "`true`" : "`false`",
        Array a => "`[" + string.Join(", ", a.Cast<object>()) + "]`",
        CancellationToken => "`None`",
        IFormattable f => $"`{f.ToString(null, System.Globalization.CultureInfo.InvariantCulture)}`",
        System.Collections.ICollection c => $"{c.Count} items",
        _ => $"`{v}`",
    };

    private static string TypeName(Type t)
    {
        if (Nullable.GetUnderlyingType(t) is { } u) return TypeName(u) + "?";
        if (t.IsArray) return TypeName(t.GetElementType()!) + "[]";
        if (t.IsByRef) return TypeName(t.GetElementType()!);
        string name = t.Name switch { "Single" => "float", "Double" => "double", "Int32" => "int", "Int64" => "long", "Boolean" => "bool", "String" => "string", "Object" => "object", "UInt32" => "uint", var n => n };
        if (!t.IsGenericType) return name;
        return name[..name.IndexOf('`')] + "<" + string.Join(", ", t.GetGenericArguments().Select(TypeName)) + ">";
    }

    private static void LoadDocs(Assembly a)
    {
        var xml = Path.ChangeExtension(a.Location, ".xml");
        if (!File.Exists(xml)) return;
        foreach (var member in XDocument.Load(xml).Descendants("member"))
            if (member.Attribute("name")?.Value is { } id) Docs[id] = member;
    }

    private static string Summary(MemberInfo m)
    {
        string prefix = m switch { Type => "T:", PropertyInfo => "P:", MethodInfo or ConstructorInfo => "M:", FieldInfo => "F:", _ => "" };
        string typeName = (m is Type t ? t : m.DeclaringType!).FullName!.Replace('+', '.');
        string id = m is Type ? prefix + typeName : prefix + typeName + "." + m.Name;
        XElement? doc = null;
        if (m is MethodInfo mi && Docs.TryGetValue(id + "(" + string.Join(",", mi.GetParameters().Select(p => DocId(p.ParameterType))) + ")", out var exact))
            doc = exact;
        else if (m is MethodInfo mi2 && mi2.GetParameters().Length == 0 && Docs.TryGetValue(id, out var noArgs))
            doc = noArgs;
        else if (m is MethodInfo mi3)
        {
            int count = mi3.GetParameters().Length;
            doc = Docs.Where(kv => kv.Key.StartsWith(id + "(") || kv.Key == id || kv.Key.StartsWith(id + "``"))
                .Where(kv => (kv.Key.Contains('(') ? kv.Key[(kv.Key.IndexOf('(') + 1)..].Split(',').Length : 0) == count || count == 0)
                .Select(kv => kv.Value).FirstOrDefault();
        }
        else Docs.TryGetValue(id, out doc);
        var summary = doc?.Element("summary");
        if (summary == null) return m is Type ? "" : "";
        var text = string.Concat(summary.Nodes().Select(n => n switch
        {
            XText x => x.Value,
            XElement e when e.Name == "see" || e.Name == "seealso" => "`" + ShortRef(e.Attribute("cref")?.Value ?? e.Attribute("langword")?.Value ?? "") + "`",
            XElement e when e.Name == "paramref" || e.Name == "typeparamref" => "`" + e.Attribute("name")?.Value + "`",
            XElement e when e.Name == "c" => "`" + e.Value + "`",
            XElement e => e.Value,
            _ => "",
        }));
        return System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " ").Trim();
    }

    private static string DocId(Type t)
    {
        if (t.IsByRef) return DocId(t.GetElementType()!) + "@";
        if (t.IsArray) return DocId(t.GetElementType()!) + "[]";
        if (t.IsGenericParameter) return (t.DeclaringMethod != null ? "``" : "`") + t.GenericParameterPosition;
        var name = (t.IsGenericType ? t.GetGenericTypeDefinition().FullName! : t.FullName ?? t.Name).Replace('+', '.');
        if (!t.IsGenericType) return name;
        return name[..name.IndexOf('`')] + "{" + string.Join(",", t.GetGenericArguments().Select(DocId)) + "}";
    }

    private static string ShortRef(string cref)
    {
        var s = cref.Length > 2 && cref[1] == ':' ? cref[2..] : cref;
        if (s.Contains('(')) s = s[..s.IndexOf('(')];
        var parts = s.Split('.');
        return parts.Length >= 2 && char.IsUpper(parts[^1][0]) && cref.StartsWith("T:") ? parts[^1] : parts.Length >= 2 ? parts[^2] + "." + parts[^1] : s;
    }
}
