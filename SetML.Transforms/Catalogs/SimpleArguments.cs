using System.Runtime.CompilerServices;
using SetML.Models;
using SetML.Training;

namespace SetML;

/// <summary>
/// The simple-arguments catalog overloads (as ML.NET has them next to each <c>Options</c> overload): the few settings
/// most often changed, by the same names as the options' properties. A null argument keeps the default of the options
/// class, so each default lives in one place (the options property's documentation).
/// </summary>
internal static class SimpleArguments
{
    /// <summary>A new <typeparamref name="T"/> with the given settings applied (null = <typeparamref name="T"/>'s default).</summary>
    public static T Options<T>(int? epochs, int? batchSize, double? learningRate) where T : SetTrainingOptions, new()
    {
        var options = new T();
        if (epochs is int e) options.Epochs = e;
        if (batchSize is int b) options.BatchSize = b;
        if (learningRate is double lr) options.LearningRate = lr;
        return options;
    }

    /// <summary>The options of an <c>Options</c> overload, or <see cref="ArgumentNullException"/> when null.</summary>
    public static T Required<T>(T? options) where T : class => options ?? throw new ArgumentNullException(nameof(options),
        "Pass an options object, or use the overload with simple arguments (epochs, batchSize, learningRate).");

    /// <summary>
    /// The options of an <c>Options</c> overload named after an encoder (<paramref name="method"/>): required, with a new
    /// <typeparamref name="TEncoder"/> (its defaults) when <c>options.Encoder</c> is null; another encoder type is an error.
    /// </summary>
    public static T Encoder<T, TEncoder>(T? options, [CallerMemberName] string method = "")
        where T : SetModelOptions where TEncoder : SetEncoderOptions, new()
        => Required(options).WithEncoder<T, TEncoder>(new TEncoder(), method);

    /// <summary>The options of a generic <c>Options</c> overload (<paramref name="method"/>): required; any encoder, Deep Sets when null.</summary>
    public static T AnyEncoder<T>(T? options, [CallerMemberName] string method = "") where T : SetModelOptions
        => Required(options).WithEncoder<T, SetEncoderOptions>(new DeepSetsOptions(), method);
}
