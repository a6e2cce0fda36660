using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace SetML.Models;

/// <summary>
/// Marks an abstract class whose concrete subclasses are serialized polymorphically by <see cref="SpecJson"/>
/// (discriminator <c>"$type"</c> = the subclass's <see cref="SpecTypeAttribute"/> name). New encoders or tasks need no
/// registration: any public concrete subclass with a parameterless constructor, in SetML or in any loaded assembly that
/// references SetML.Transforms (an application, a test project), is found by reflection.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class PolymorphicSpecAttribute : Attribute { }

/// <summary>
/// The stable name and format version of a serialized spec component (a concrete subclass of a
/// <see cref="PolymorphicSpecAttribute"/> base). The name is what model files store as <c>"$type"</c>, so renaming the
/// C# class changes nothing on disk; the version is stored as <c>"$version"</c> next to it. Bump the version when the
/// component's JSON changes in a way an older reader would misread (a member removed or its meaning changed), and
/// register a migration from the previous version in <see cref="SpecJson.Migrations"/>. See docs/architecture.md, "Persistence".
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class SpecTypeAttribute : Attribute
{
    /// <summary>Declares the stable <paramref name="name"/> (e.g. <c>"encoder.deep-sets"</c>) and format <paramref name="version"/>.</summary>
    public SpecTypeAttribute(string name, int version = 1)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A spec type needs a non-empty stable name.", nameof(name));
        if (version < 1) throw new ArgumentOutOfRangeException(nameof(version), version, "Spec format versions start at 1.");
        Name = name; Version = version;
    }

    /// <summary>The name written as <c>"$type"</c>; never change it once models were saved with it.</summary>
    public string Name { get; }

    /// <summary>The format version of this component's JSON, written as <c>"$version"</c>.</summary>
    public int Version { get; }
}

/// <summary>
/// JSON serialization of model specifications (architecture, options, column bindings) — everything but weights.
/// Strict: a member this SetML does not know, an unknown <c>"$type"</c>, or a component <c>"$version"</c> newer than
/// this SetML reads is an error, never silently ignored.
/// </summary>
internal static class SpecJson
{
    /// <summary>The metadata member holding a component's stable type name.</summary>
    public const string TypeProperty = "$type";

    /// <summary>The metadata member holding a component's format version.</summary>
    public const string VersionProperty = "$version";

    // The components and serializer options of the assemblies loaded so far; rebuilt when an assembly that references
    // SetML loads later (an application's own encoder), so a component in any such assembly is found without registration.
    private sealed record Registry(IReadOnlyDictionary<string, SpecComponent> Components, JsonSerializerOptions Options);
    private static volatile Registry? _registry;

    static SpecJson() => AppDomain.CurrentDomain.AssemblyLoad += (_, e) => { if (ExtendsSetML(e.LoadedAssembly)) _registry = null; };

    private static Registry Current
    {
        get
        {
            var r = _registry;
            if (r != null) return r;
            var components = FindComponents();
            r = new Registry(components, CreateOptions(components));
            _registry = r;
            return r;
        }
    }

    /// <summary>
    /// Migrations of one component from one version to the next: key (stable name, version it upgrades from), value
    /// a rewrite of that component's JSON object in place to the next version's shape. <see cref="Deserialize{T}(string)"/>
    /// applies them in order until the component reaches its current <see cref="SpecTypeAttribute.Version"/>.
    /// </summary>
    internal static Dictionary<(string Name, int FromVersion), Action<JsonObject>> Migrations { get; } = new()
    {
        // Slot Set Encoder 1 → 2: OutputLayerNorm added with default true; models saved before had none.
        [("encoder.slot-set-encoder", 1)] = o => o["OutputLayerNorm"] = false,
    };

    /// <summary>The serializer options (PascalCase member names as declared, enums as strings, polymorphic spec bases, unknown members rejected).</summary>
    public static JsonSerializerOptions Options => Current.Options;

    /// <summary>Every serializable spec component: stable name → (type, version).</summary>
    public static IReadOnlyDictionary<string, SpecComponent> Components => Current.Components;

    /// <summary>Serializes a spec to JSON, with <c>"$version"</c> after every <c>"$type"</c>.</summary>
    public static string Serialize<T>(T value)
    {
        var node = JsonSerializer.SerializeToNode(value, Options) ?? throw new InvalidDataException("Cannot serialize a null specification.");
        AddVersions(node);
        return node.ToJsonString(Options);
    }

    /// <summary>
    /// Deserializes a spec from JSON written by <see cref="Serialize{T}"/> (this or an older SetML), migrating older
    /// component versions. Throws <see cref="JsonException"/> with the JSON path for unknown members, unknown types and
    /// newer versions.
    /// </summary>
    public static T Deserialize<T>(string json) => Deserialize<T>(JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }));

    /// <summary>Deserializes a parsed spec (see <see cref="Deserialize{T}(string)"/>).</summary>
    internal static T Deserialize<T>(JsonNode? node)
    {
        if (node == null) throw new InvalidDataException("The model specification is empty.");
        CheckAndMigrate(node, "$");
        return node.Deserialize<T>(Options) ?? throw new InvalidDataException("The model specification is empty.");
    }

    /// <summary>A deep copy through JSON (options objects are copied before training so later edits by the user do not leak in).</summary>
    public static T Clone<T>(T value) => Deserialize<T>(Serialize(value));

    private static void AddVersions(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                if (o[TypeProperty] is JsonValue t && t.TryGetValue(out string? name) && Components.TryGetValue(name, out var c))
                    o.Insert(1, VersionProperty, c.Version);
                foreach (var (_, child) in o.ToList()) AddVersions(child);
                break;
            case JsonArray a:
                foreach (var child in a) AddVersions(child);
                break;
        }
    }

    private static void CheckAndMigrate(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                if (o.ContainsKey(TypeProperty))
                {
                    if (o[TypeProperty] is not JsonValue tv || !tv.TryGetValue(out string? name))
                        throw new JsonException($"'{TypeProperty}' at {path} must be a string.", path, null, null);
                    if (!Components.TryGetValue(name, out var c))
                        throw new JsonException($"Unknown component type '{name}' at {path}: this SetML knows {string.Join(", ", Components.Keys.Order(StringComparer.Ordinal))}. " +
                            "The model was probably written by a newer SetML (or uses a component from an assembly that is not loaded).", path, null, null);
                    if (o[VersionProperty] is not JsonValue vv || !vv.TryGetValue(out int version))
                        throw new JsonException($"Component '{name}' at {path} has no integer '{VersionProperty}'.", path, null, null);
                    if (version > c.Version)
                        throw new JsonException($"Component '{name}' at {path} has format version {version}, but this SetML reads versions up to {c.Version}. " +
                            "Update the SetML packages to load this model.", path, null, null);
                    for (; version < c.Version; version++)
                    {
                        if (!Migrations.TryGetValue((name, version), out var migrate))
                            throw new JsonException($"Component '{name}' at {path} has format version {version}, and this SetML has no migration from it.", path, null, null);
                        migrate(o);
                    }
                    o.Remove(VersionProperty);
                    // "$type" must come first for System.Text.Json's polymorphism.
                    if (o.IndexOf(TypeProperty) != 0)
                    {
                        var type = o[TypeProperty]!;
                        o.Remove(TypeProperty);
                        o.Insert(0, TypeProperty, type);
                    }
                }
                foreach (var (key, child) in o.ToList()) CheckAndMigrate(child, path + "." + key);
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++) CheckAndMigrate(a[i], $"{path}[{i}]");
                break;
        }
    }

    private static JsonSerializerOptions CreateOptions(IReadOnlyDictionary<string, SpecComponent> components)
    {
        var resolver = new DefaultJsonTypeInfoResolver();
        resolver.Modifiers.Add(info => AddPolymorphism(info, components));
        var o = new JsonSerializerOptions
        {
            TypeInfoResolver = resolver,
            WriteIndented = false,
            IncludeFields = false,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            MaxDepth = 64,
        };
        o.Converters.Add(new JsonStringEnumConverter(allowIntegerValues: false));
        return o;
    }

    private static void AddPolymorphism(JsonTypeInfo info, IReadOnlyDictionary<string, SpecComponent> components)
    {
        var t = info.Type;
        if (!t.IsAbstract || t.GetCustomAttribute<PolymorphicSpecAttribute>() == null) return;
        var poly = new JsonPolymorphismOptions
        {
            TypeDiscriminatorPropertyName = TypeProperty,
            UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization,
        };
        foreach (var c in components.Values.Where(c => t.IsAssignableFrom(c.Type)).OrderBy(c => c.Name, StringComparer.Ordinal))
            poly.DerivedTypes.Add(new JsonDerivedType(c.Type, c.Name));
        info.PolymorphismOptions = poly;
    }

    private static IReadOnlyDictionary<string, SpecComponent> FindComponents()
    {
        var bases = new List<Type>();
        var concrete = new List<Type>();
        foreach (var a in SetMLAssemblies())
        {
            Type[] types;
            try { types = a.GetTypes(); } catch (ReflectionTypeLoadException e) { types = e.Types.Where(x => x != null).ToArray()!; }
            foreach (var x in types)
            {
                if (x.IsAbstract && x.GetCustomAttribute<PolymorphicSpecAttribute>() != null) bases.Add(x);
                else if (!x.IsAbstract && (x.IsPublic || x.IsNestedPublic) && x.GetConstructor(Type.EmptyTypes) != null) concrete.Add(x);
            }
        }
        var result = new Dictionary<string, SpecComponent>(StringComparer.Ordinal);
        foreach (var x in concrete.Where(x => bases.Any(b => b.IsAssignableFrom(x))).Distinct())
        {
            // A component without [SpecType] (only tests declare such) is named by its class; SpecFormatTests checks
            // that every component SetML ships has an explicit stable name.
            var attr = x.GetCustomAttribute<SpecTypeAttribute>();
            var c = new SpecComponent(attr?.Name ?? x.Name, attr?.Version ?? 1, x, attr != null);
            if (result.TryGetValue(c.Name, out var other))
                throw new InvalidOperationException($"Two spec types have the stable name '{c.Name}': {other.Type.FullName} and {x.FullName}.");
            result[c.Name] = c;
        }
        return result;
    }

    // SetML.Transforms itself and every loaded assembly that references it (SetML.Trainers, an application, a test project).
    private static IEnumerable<Assembly> SetMLAssemblies()
        => AppDomain.CurrentDomain.GetAssemblies().Where(ExtendsSetML).Append(typeof(ModelSpec).Assembly).Distinct();

    private static bool ExtendsSetML(Assembly a)
    {
        if (a == typeof(ModelSpec).Assembly) return true;
        if (a.IsDynamic) return false;
        string self = typeof(ModelSpec).Assembly.GetName().Name!;
        try { return a.GetReferencedAssemblies().Any(r => r.Name == self); }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException or NotSupportedException) { return false; }
    }
}

/// <summary>One serializable spec component: its stable name, format version and current C# type.</summary>
/// <param name="Name">The stable name written as <c>"$type"</c>.</param>
/// <param name="Version">The format version written as <c>"$version"</c>.</param>
/// <param name="Type">The C# class (free to be renamed).</param>
/// <param name="Explicit">Whether the name comes from a <see cref="SpecTypeAttribute"/> (true for every component SetML ships).</param>
internal sealed record SpecComponent(string Name, int Version, Type Type, bool Explicit);
