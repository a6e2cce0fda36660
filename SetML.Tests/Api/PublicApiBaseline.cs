using System.Reflection;
using System.Text;

namespace SetML.Tests.Api;

/// <summary>
/// The public surface of SetML.Transforms and SetML.Trainers as text, one line per public type and per public or
/// protected member (constructors, methods, properties, fields, events, enum values), sorted. <see cref="PublicApiTests"/>
/// compares it with the committed <c>Api/public-api.txt</c>, so that every change of the public API is deliberate.
/// Regenerate with <see cref="Command"/>.
/// </summary>
public static class PublicApiBaseline
{
    /// <summary>The committed baseline's file name (in SetML.Tests/Api).</summary>
    public const string FileName = "public-api.txt";

    /// <summary>The command that rewrites the baseline (run from the repository root after a Release build).</summary>
    public const string Command = "dotnet SetML.Tests/bin/Release/net10.0/SetML.Tests.dll make-public-api SetML.Tests/Api/public-api.txt";

    /// <summary>The assemblies whose public surface is the baseline.</summary>
    public static readonly Assembly[] Libraries = { typeof(SetTransformsCatalog).Assembly, typeof(SetTrainersCatalog).Assembly };

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Builds the baseline text of this build.</summary>
    public static string Build()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Public API of SetML.Transforms and SetML.Trainers (generated; see SetML.Tests/Api/PublicApiBaseline.cs).");
        sb.AppendLine($"# Regenerate after a deliberate change: {Command}");
        foreach (var a in Libraries)
        {
            var types = a.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal).ToList();
            sb.AppendLine($"assembly {a.GetName().Name}: {types.Count} public types");
            foreach (var t in types)
            {
                sb.AppendLine($"{Kind(t)} {Name(t)}{Bases(t)}");
                foreach (var m in Members(t).Order(StringComparer.Ordinal)) sb.AppendLine("  " + m);
            }
        }
        return sb.ToString().ReplaceLineEndings("\n");
    }

    /// <summary>Public type count of each library: (assembly, public, non-public) — top-level and nested types.</summary>
    public static IEnumerable<(string Assembly, int Public, int NonPublic)> Counts()
        => Libraries.Select(a =>
        {
            var all = a.GetTypes().Where(t => !t.Name.StartsWith('<') && !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute))).ToList();
            int pub = all.Count(t => t.IsVisible);
            return (a.GetName().Name!, pub, all.Count - pub);
        });

    private static string Kind(Type t) => t.IsEnum ? "enum" : t.IsInterface ? "interface" : t.IsValueType ? (IsRecord(t) ? "record struct" : "struct")
        : typeof(Delegate).IsAssignableFrom(t) ? "delegate" : t.IsAbstract && t.IsSealed ? "static class"
        : (t.IsAbstract ? "abstract " : t.IsSealed ? "sealed " : "") + (IsRecord(t) ? "record" : "class");

    private static bool IsRecord(Type t) => t.GetMethod("<Clone>$") != null || t.GetProperty("EqualityContract", BindingFlags.NonPublic | BindingFlags.Instance) != null;

    private static string Bases(Type t)
    {
        if (t.IsEnum) return " : " + Name(Enum.GetUnderlyingType(t));
        var list = new List<string>();
        if (t.BaseType is { } b && b != typeof(object) && b != typeof(ValueType)) list.Add(Name(b));
        list.AddRange(t.GetInterfaces().Where(i => i.IsVisible).Select(Name).Order(StringComparer.Ordinal));
        return list.Count == 0 ? "" : " : " + string.Join(", ", list);
    }

    private static bool Visible(MethodBase? m) => m != null && (m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly);

    private static IEnumerable<string> Members(Type t)
    {
        if (t.IsEnum)
        {
            foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Static)) yield return $"{f.Name} = {Convert.ToInt64(f.GetRawConstantValue())}";
            yield break;
        }
        foreach (var c in t.GetConstructors(Declared).Where(Visible))
            yield return $"{Access(c)}ctor({Parameters(c)})";
        var accessors = new HashSet<MethodInfo>();
        foreach (var p in t.GetProperties(Declared))
        {
            var get = Visible(p.GetMethod) ? p.GetMethod : null;
            var set = Visible(p.SetMethod) ? p.SetMethod : null;
            if (p.GetMethod != null) accessors.Add(p.GetMethod);
            if (p.SetMethod != null) accessors.Add(p.SetMethod);
            if (get == null && set == null) continue;
            var any = (get ?? set)!;
            string index = p.GetIndexParameters().Length > 0 ? $"[{string.Join(", ", p.GetIndexParameters().Select(x => Name(x.ParameterType)))}]" : "";
            bool init = set != null && set.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.Name == "IsExternalInit");
            bool required = p.CustomAttributes.Any(x => x.AttributeType.FullName == "System.Runtime.CompilerServices.RequiredMemberAttribute");
            yield return $"{Access(any)}{Modifiers(any)}{(required ? "required " : "")}property {p.Name}{index} : {Name(p.PropertyType)} {{ {(get != null ? "get; " : "")}{(set != null ? (init ? "init; " : "set; ") : "")}}}";
        }
        foreach (var e in t.GetEvents(Declared))
        {
            if (e.AddMethod != null) accessors.Add(e.AddMethod);
            if (e.RemoveMethod != null) accessors.Add(e.RemoveMethod);
            if (Visible(e.AddMethod)) yield return $"{Access(e.AddMethod!)}event {e.Name} : {Name(e.EventHandlerType!)}";
        }
        foreach (var m in t.GetMethods(Declared).Where(m => Visible(m) && !accessors.Contains(m)))
        {
            string generic = m.IsGenericMethodDefinition ? "<" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + ">" : "";
            yield return $"{Access(m)}{Modifiers(m)}method {m.Name}{generic}({Parameters(m)}) : {Name(m.ReturnType)}";
        }
        foreach (var f in t.GetFields(Declared).Where(f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly))
            yield return $"{(f.IsFamily || f.IsFamilyOrAssembly ? "protected " : "")}{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}field {f.Name} : {Name(f.FieldType)}"
                         + (f.IsLiteral ? $" = {f.GetRawConstantValue()}" : "");
    }

    private static string Access(MethodBase m) => m.IsFamily || m.IsFamilyOrAssembly ? "protected " : "";

    private static string Modifiers(MethodBase m)
    {
        if (m.IsStatic) return "static ";
        if (m.DeclaringType!.IsInterface) return "";
        if (m.IsAbstract) return "abstract ";
        if (m is MethodInfo mi && mi.GetBaseDefinition().DeclaringType != mi.DeclaringType) return m.IsFinal ? "sealed override " : "override ";
        if (m.IsVirtual && !m.IsFinal) return "virtual ";
        return "";
    }

    private static string Parameters(MethodBase m) => string.Join(", ", m.GetParameters().Select(p =>
        (p.ParameterType.IsByRef ? (p.IsOut ? "out " : p.IsIn ? "in " : "ref ") : p.IsDefined(typeof(ParamArrayAttribute)) ? "params " : "")
        + Name(p.ParameterType) + " " + p.Name + (p.HasDefaultValue ? " = " + (p.DefaultValue switch { null => "null", string s => $"\"{s}\"", bool b => b ? "true" : "false", var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) }) : "")));

    private static string Name(Type t)
    {
        if (t.IsByRef) return Name(t.GetElementType()!);
        if (t.IsArray) return Name(t.GetElementType()!) + "[" + new string(',', t.GetArrayRank() - 1) + "]";
        if (t.IsGenericParameter) return t.Name;
        if (Nullable.GetUnderlyingType(t) is { } u) return Name(u) + "?";
        string simple = t.Name.Contains('`') ? t.Name[..t.Name.IndexOf('`')] : t.Name;
        string name = t.IsNested ? Name(t.DeclaringType!) + "." + simple : (t.Namespace is { Length: > 0 } ns ? ns + "." : "") + simple;
        if (!t.IsGenericType) return name;
        var args = t.GetGenericArguments();
        if (t.IsNested && t.DeclaringType!.IsGenericType) args = args.Skip(t.DeclaringType.GetGenericArguments().Length).ToArray();
        return args.Length == 0 ? name : name + "<" + string.Join(", ", args.Select(Name)) + ">";
    }
}
