namespace SetML.Modules;

/// <summary>
/// The stable name under which a registered sub-module, parameter or buffer field is saved in model files. Without it
/// the saved name is the field name (TorchSharp's <c>RegisterComponents</c> name); when a field is renamed, put the old
/// name here so that saved models keep loading (<c>SpecFormatTests</c> fails until you do). A weight's full stable name
/// is the dotted path of these names from the network's root, e.g. <c>encoder.phi.layers.0.weight</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class WeightNameAttribute : Attribute
{
    /// <summary>Declares the stable <paramref name="name"/> of the field's weights (no dots).</summary>
    public WeightNameAttribute(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.')) throw new ArgumentException("A weight name must be non-empty and contain no '.'.", nameof(name));
        Name = name;
    }

    /// <summary>The name written into model files.</summary>
    public string Name { get; }
}
