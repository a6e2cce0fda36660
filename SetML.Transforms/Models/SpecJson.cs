using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace SetML.Models;

/// <summary>
/// Marks an abstract class whose concrete subclasses are serialized polymorphically by <see cref="SpecJson"/>
/// (discriminator <c>"$type"</c> = the subclass name). New encoders or tasks need no registration: any public
/// concrete subclass in a SetML assembly is found by reflection.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class PolymorphicSpecAttribute : Attribute { }

/// <summary>JSON serialization of model specifications (architecture, options, column bindings) — everything but weights.</summary>
public static class SpecJson
{
    private static readonly Lazy<JsonSerializerOptions> _options = new(CreateOptions);

    /// <summary>The serializer options (camel-case-free, enums as strings, polymorphic spec bases).</summary>
    public static JsonSerializerOptions Options => _options.Value;

    /// <summary>Serializes a spec to JSON.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Deserializes a spec from JSON.</summary>
    public static T Deserialize<T>(string json)
        => JsonSerializer.Deserialize<T>(json, Options) ?? throw new InvalidDataException("The model specification is empty.");

    /// <summary>A deep copy through JSON (options objects are copied before training so later edits by the user do not leak in).</summary>
    public static T Clone<T>(T value) => Deserialize<T>(Serialize(value));

    private static JsonSerializerOptions CreateOptions()
    {
        var resolver = new DefaultJsonTypeInfoResolver();
        resolver.Modifiers.Add(AddPolymorphism);
        var o = new JsonSerializerOptions
        {
            TypeInfoResolver = resolver,
            WriteIndented = false,
            IncludeFields = false,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };
        o.Converters.Add(new JsonStringEnumConverter());
        return o;
    }

    private static void AddPolymorphism(JsonTypeInfo info)
    {
        var t = info.Type;
        if (!t.IsAbstract || t.GetCustomAttribute<PolymorphicSpecAttribute>() == null) return;
        var poly = new JsonPolymorphismOptions
        {
            TypeDiscriminatorPropertyName = "$type",
            UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization,
        };
        foreach (var d in DerivedTypes(t)) poly.DerivedTypes.Add(new JsonDerivedType(d, d.Name));
        info.PolymorphismOptions = poly;
    }

    private static IEnumerable<Type> DerivedTypes(Type baseType)
    {
        var assemblies = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => a.GetName().Name is string n && n.StartsWith("SetML", StringComparison.Ordinal))
            .Append(baseType.Assembly).Distinct();
        foreach (var a in assemblies)
        {
            Type[] types;
            try { types = a.GetTypes(); } catch (ReflectionTypeLoadException e) { types = e.Types.Where(x => x != null).ToArray()!; }
            foreach (var x in types)
                if (!x.IsAbstract && baseType.IsAssignableFrom(x) && x.IsPublic && x.GetConstructor(Type.EmptyTypes) != null)
                    yield return x;
        }
    }
}
