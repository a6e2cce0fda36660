using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Encodes parts of a set separately, possibly in different processes or on different machines, and merges them
/// exactly (mini-batch consistency, Andreis et al. 2021, Property 2.1):
/// <code>
///   f(X) = Finish(Merge(EncodePartial(X_1), …, EncodePartial(X_p)))      for any partition X_1 ∪ … ∪ X_p of X
/// </code>
/// <see cref="EncodePartial(Tensor, Tensor)"/> gives a <see cref="SetPartialState"/>, <see cref="Merge"/> combines two
/// (in any order or tree), <see cref="Finish"/> gives the embedding. Works for every mini-batch consistent encoder: Deep
/// Sets (sum, mean, max, min) and the (hierarchical) Slot Set Encoder.
/// </summary>
/// <remarks>
/// The encoder must be in eval mode (a trained <c>SetModelTransformer</c>'s network is): in training mode a Slot Set
/// Encoder draws fresh random slots per call, so states of different calls would not be parts of one encoding.
/// <see cref="ModelId"/> is computed from the weights when the partial encoder is created; create a new one if the
/// weights change. The methods keep no mutable state and may be called from several threads at once (inference with
/// no_grad only reads the weights).
/// </remarks>
public sealed class PartialSetEncoder
{
    private readonly SetEncoder module;
    private readonly IMiniBatchConsistentEncoder encoder;

    private PartialSetEncoder(SetEncoder module, SetColumns.SetElementNormalization? normalization)
    {
        this.module = module;
        encoder = StreamingSetEncoder.Normalized(StreamingSetEncoder.AsMiniBatchConsistent(module), module.InputDimension, normalization);
        ModelId = ComputeModelId(module);
    }

    /// <summary>Creates a partial-state encoder over a trained <see cref="SlotSetEncoder"/> or <see cref="DeepSetsEncoder"/>.</summary>
    /// <param name="encoder">The encoder.</param>
    /// <param name="normalization">Element standardization the encoder was trained with (applied to every part); null = none.</param>
    /// <exception cref="NotSupportedException">The encoder is not mini-batch consistent (e.g. a Set Transformer).</exception>
    public static PartialSetEncoder Create(SetEncoder encoder, SetColumns.SetElementNormalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        return new PartialSetEncoder(encoder, normalization);
    }

    /// <summary>
    /// Identity of the model (XxHash64 of the encoder type, its dimensions, every parameter and buffer, and the slot
    /// counts and seeds of a Slot Set Encoder). Written into every state; states of different identities do not merge.
    /// </summary>
    public ulong ModelId { get; }

    /// <summary>Element dimension d.</summary>
    public int InputDimension => module.InputDimension;

    /// <summary>Size of the embedding <see cref="Finish"/> returns.</summary>
    public int OutputDimension => module.OutputDimension;

    /// <summary>The aggregation g of the states (how <see cref="Merge"/> combines them).</summary>
    public PoolingKind Aggregation => encoder.StreamAggregation;

    /// <summary>The state of a part of <c>B</c> sets: <c>x [B, n, d]</c>, <c>mask [B, n]</c> (true = real element).</summary>
    /// <exception cref="ArgumentException">The shapes do not match the encoder.</exception>
    /// <exception cref="InvalidOperationException">The encoder is in training mode.</exception>
    public SetPartialState EncodePartial(Tensor x, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(mask);
        CheckEval();
        if (x.dim() != 3 || x.shape[2] != InputDimension)
            throw new ArgumentException($"A part must have shape [B, n, {InputDimension}], but has [{string.Join(", ", x.shape)}].", nameof(x));
        if (mask.dim() != 2 || mask.shape[0] != x.shape[0] || mask.shape[1] != x.shape[1])
            throw new ArgumentException($"The mask must have shape [{x.shape[0]}, {x.shape[1]}], but has [{string.Join(", ", mask.shape)}].", nameof(mask));
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var context = encoder.BeginStream((int)x.shape[0]);
        using var threads = IntraOpThreads.ForWork(x.shape[0] * x.shape[1]);   // a small part runs on this thread alone
        return ToState(encoder.EncodeChunk(x, mask, context), mask.sum(1));
    }

    /// <summary>
    /// The state of a part of ONE set given as <c>n·d</c> values, element after element. The part is encoded
    /// <paramref name="chunkElements"/> elements at a time, so memory depends on the chunk, not on the part's size.
    /// </summary>
    /// <exception cref="ArgumentException">The length is not a multiple of d, or the chunk size is not positive.</exception>
    public SetPartialState EncodePartial(ReadOnlySpan<float> elements, int chunkElements = 65_536)
    {
        CheckEval();
        if (elements.Length % InputDimension != 0)
            throw new ArgumentException($"A part has {elements.Length} values, which is not a multiple of the element dimension {InputDimension}.", nameof(elements));
        if (chunkElements < 1) throw new ArgumentOutOfRangeException(nameof(chunkElements), chunkElements, "The chunk size must be at least 1 element.");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var context = encoder.BeginStream(1);
        long n = elements.Length / InputDimension;
        Tensor? state = null;
        for (long start = 0; start < n || state is null; start += chunkElements)
        {
            using var chunkScope = torch.NewDisposeScope();
            long m = Math.Min(chunkElements, n - start);
            var x = torch.tensor(elements.Slice((int)(start * InputDimension), (int)(m * InputDimension)).ToArray(), new long[] { 1, m, InputDimension });
            var mask = torch.ones(1, m, dtype: ScalarType.Bool);
            using var threads = IntraOpThreads.ForWork(m);                      // a small chunk runs on this thread alone
            var partial = encoder.EncodeChunk(x, mask, context);
            state = (state is null ? partial : MiniBatchConsistentPooling.Combine(state, partial, Aggregation)).MoveToOuterDisposeScope();
        }
        return ToState(state, torch.tensor(new[] { n }));
    }

    /// <summary>The state of no elements for <paramref name="batchSize"/> sets (the neutral element of <see cref="Merge"/>).</summary>
    public SetPartialState Empty(int batchSize = 1)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        using var x = torch.zeros(batchSize, 0, InputDimension);
        using var mask = torch.zeros(new long[] { batchSize, 0 }, dtype: ScalarType.Bool);
        return EncodePartial(x, mask);
    }

    /// <summary>g(a, b) (see <see cref="SetPartialState.Merge"/>).</summary>
    public static SetPartialState Merge(SetPartialState a, SetPartialState b) => SetPartialState.Merge(a, b);

    /// <summary>The embeddings <c>[B, D]</c> of the sets the (merged) state has seen: equal to encoding the whole sets at once.</summary>
    /// <exception cref="ArgumentException">The state comes from another model.</exception>
    public Tensor Finish(SetPartialState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        CheckEval();
        if (state.ModelId != ModelId)
            throw new ArgumentException(
                $"The partial set state was encoded by model {state.ModelId:x16}, but this encoder is model {ModelId:x16}; finish a state with the model that encoded it.", nameof(state));
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var s = torch.tensor(state.Values.ToArray(), state.Shape.ToArray());
        var count = torch.tensor(state.ElementCounts.ToArray());
        var context = encoder.BeginStream(state.BatchSize);
        var pooled = MiniBatchConsistentPooling.Finish(s, count, Aggregation);
        return encoder.FinishStream(pooled, context).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="Finish"/> for a state of one set, as an array.</summary>
    public float[] FinishVector(SetPartialState state)
    {
        if (state.BatchSize != 1) throw new ArgumentException($"FinishVector is for a state of one set; this state has {state.BatchSize} sets. Use Finish.", nameof(state));
        using var e = Finish(state);
        return e.CopyToArray<float>();
    }

    private SetPartialState ToState(Tensor partial, Tensor count)
        => new(ModelId, Aggregation, partial.shape, partial.CopyToArray<float>(), count.to(ScalarType.Int64).CopyToArray<long>());

    private void CheckEval()
    {
        if (module.training)
            throw new InvalidOperationException(
                $"The {module.GetType().Name} is in training mode; call eval() before encoding partial states (in training mode a Slot Set Encoder draws new random slots per call, so parts would not belong to one encoding).");
    }

    private static ulong ComputeModelId(SetEncoder module)
    {
        var hash = new XxHash64();
        void Text(string s) => hash.Append(Encoding.UTF8.GetBytes(s + "\n"));
        Text($"{module.GetType().FullName} d={module.InputDimension} D={module.OutputDimension}");
        using (torch.no_grad())
        {
            foreach (var (name, tensor) in module.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                Text($"{name} {tensor.dtype} [{string.Join(",", tensor.shape)}]");
                using var scope = torch.NewDisposeScope();                          // copies only, never the parameter itself
                hash.Append(MemoryMarshal.AsBytes(tensor.detach().to(ScalarType.Float32).CopyToArray<float>().AsSpan()));
            }
        }
        if (module is SlotSetEncoder sse)
            foreach (var level in sse.Levels) Text($"K={level.SlotCount} seed={level.SlotSeed} g={level.Aggregation} {level.Initialization}");
        else if (module is DeepSetsEncoder ds) Text($"pool={ds.Pooling}");
        return hash.GetCurrentHashAsUInt64();
    }
}
