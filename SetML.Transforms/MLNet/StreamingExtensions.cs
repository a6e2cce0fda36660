using SetML.Models;
using SetML.Modules;

namespace SetML.Transforms;

/// <summary>Streaming (mini-batch consistent) encoding with a trained SetML model.</summary>
public static class StreamingExtensions
{
    /// <summary>
    /// A <see cref="StreamingSetEncoder"/> over the encoder of a trained set featurizer or set trainer
    /// (<c>mlContext.Transforms.SlotSetEncoder/DeepSets(...)</c>, <c>SetRegression(...)</c>, …): <c>Start()</c>,
    /// <c>Add(chunk)</c> any number of times, then <c>Finish()</c> gives the same embedding as encoding the whole set.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The model is not a set encoder model, or its encoder is not mini-batch consistent (Set Transformer, FSPool,
    /// Janossy, relation network, attention pooling, rFFp): their output depends on all elements at once.
    /// </exception>
    public static StreamingSetEncoder CreateStreamingEncoder(this SetModelTransformer model)
        => StreamingSetEncoder.Create(MiniBatchConsistentEncoder(model), model.Spec.Inputs[0].Normalization);

    /// <summary>
    /// A <see cref="PartialSetEncoder"/> over the encoder of a trained set featurizer or set trainer: parts of a set are
    /// encoded separately (<c>EncodePartial</c>, possibly on other machines with the same model file), merged
    /// (<c>SetPartialState.Merge</c>) and finished (<c>Finish</c>) to the same embedding as encoding the whole set.
    /// </summary>
    /// <exception cref="InvalidOperationException">As for <see cref="CreateStreamingEncoder"/>.</exception>
    public static PartialSetEncoder CreatePartialEncoder(this SetModelTransformer model)
        => PartialSetEncoder.Create(MiniBatchConsistentEncoder(model), model.Spec.Inputs[0].Normalization);

    private static SetEncoder MiniBatchConsistentEncoder(SetModelTransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Spec is not EncoderModelSpec spec || model.Network is not EncoderHeadNetwork network)
            throw new InvalidOperationException(
                $"Streaming encoding needs a model made of a set encoder and a head, but this model is a {model.Spec.GetType().Name}.");
        string name = spec.Encoder.GetType().Name.Replace("Options", "");
        if (!StreamingSetEncoder.IsSupported(network.Encoder))
            throw new InvalidOperationException(
                $"The model's {name} encoder is not mini-batch consistent, so it cannot encode a set chunk by chunk: " +
                (name.Contains("SetTransformer", StringComparison.Ordinal)
                    ? "the Set Transformer's self-attention and PMA softmax normalise over all elements of the set at once. "
                    : "its output depends on all elements of the set at once. ") +
                "Train a SlotSetEncoder or DeepSets encoder to stream sets.");
        return network.Encoder;
    }
}
