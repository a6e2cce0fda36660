using SetML.Models;
using SetML.Modules;

namespace SetML.Samples.Infrastructure;

/// <summary>
/// Every set encoder SetML ships, found by reflection: each public concrete <see cref="SetEncoderOptions"/> subclass with a
/// parameterless constructor in a loaded SetML assembly (the same rule the model files use), so encoders added later
/// appear in the samples without editing them.
/// </summary>
public static class Encoders
{
    /// <summary>The encoder option types, Deep Sets first, then by name.</summary>
    public static IReadOnlyList<Type> OptionTypes()
    {
        // Touch the assemblies that hold encoders so they are loaded before scanning.
        _ = typeof(SetEncoderOptions).Assembly;
        _ = typeof(SetTrainersCatalog).Assembly;
        return AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => a.GetName().Name?.StartsWith("SetML", StringComparison.Ordinal) == true)
            .SelectMany(a => { try { return a.GetTypes(); } catch (System.Reflection.ReflectionTypeLoadException e) { return e.Types.OfType<Type>().ToArray(); } })
            .Where(t => t.IsPublic && !t.IsAbstract && typeof(SetEncoderOptions).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) != null)
            .Distinct()
            .OrderBy(t => t == typeof(DeepSetsOptions) ? 0 : 1).ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>A readable name for an encoder option type ("DeepSetsOptions" → "DeepSets").</summary>
    public static string DisplayName(Type optionsType) => optionsType.Name.EndsWith("Options") ? optionsType.Name[..^"Options".Length] : optionsType.Name;

    /// <summary>
    /// One configured encoder per type, with its defaults (Deep Sets three times: sum, mean and max pooling, the
    /// Deep Sets paper's and the Set Transformer paper's "rFF + Pooling" baselines).
    /// </summary>
    public static IReadOnlyList<(string Name, SetEncoderOptions Options)> All()
    {
        var list = new List<(string, SetEncoderOptions)>();
        foreach (var t in OptionTypes())
        {
            if (t == typeof(DeepSetsOptions))
            {
                foreach (var p in new[] { PoolingKind.Sum, PoolingKind.Mean, PoolingKind.Max })
                    list.Add(($"DeepSets ({p.ToString().ToLowerInvariant()} pooling)", new DeepSetsOptions { Pooling = p }));
                continue;
            }
            list.Add((DisplayName(t), (SetEncoderOptions)Activator.CreateInstance(t)!));
        }
        return list;
    }

    /// <summary>Number of trainable parameters of <paramref name="options"/>' encoder for element dimension <paramref name="d"/>.</summary>
    public static long ParameterCount(SetEncoderOptions options, int d)
    {
        using var encoder = options.CreateEncoder(d);
        return encoder.parameters().Sum(p => p.numel());
    }

    /// <summary>An encoder type by name (e.g. "SetTransformerOptions"), or null when no SetML assembly has it.</summary>
    public static Type? Find(params string[] names) => OptionTypes().FirstOrDefault(t => names.Contains(t.Name, StringComparer.Ordinal));
}
