using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Encodes sets that arrive in chunks, with the explicit three-step protocol of UMBC's streaming encoders:
/// <see cref="Start"/>, <see cref="Add(Tensor, Tensor)"/> any number of times, <see cref="Finish"/>. For a mini-batch
/// consistent encoder (Slot Set Encoder, Deep Sets) the result equals encoding the whole set at once, for any partition
/// (Andreis et al. 2021, Property 2.1). Only the running state (<c>[B, K, d̂]</c> or <c>[B, latent]</c>) is kept
/// between chunks, so memory depends on the chunk size, never on the set size.
/// </summary>
/// <remarks>
/// Runs under <c>torch.no_grad()</c> with the encoder in whatever mode it is in (a trained <c>SetModelTransformer</c>'s
/// network is in eval mode, so random slots are the fixed prediction-time draw). Not thread-safe; use one instance per
/// stream, and do not run it concurrently with other uses of the same network.
/// </remarks>
public sealed class StreamingSetEncoder : IDisposable
{
    private readonly IMiniBatchConsistentEncoder encoder;
    private Tensor? context, state, count;
    private int batchSize;

    private StreamingSetEncoder(IMiniBatchConsistentEncoder encoder, int inputDimension, int outputDimension)
    {
        this.encoder = encoder;
        InputDimension = inputDimension;
        OutputDimension = outputDimension;
    }

    /// <summary>Whether <paramref name="encoder"/> can be streamed: it implements <see cref="IMiniBatchConsistentEncoder"/>.</summary>
    public static bool IsSupported(SetEncoder encoder) => encoder is IMiniBatchConsistentEncoder;

    /// <summary>Creates a streaming encoder over a trained mini-batch consistent encoder (<see cref="SlotSetEncoder"/>, <see cref="DeepSetsEncoder"/>, or any <see cref="IMiniBatchConsistentEncoder"/>).</summary>
    /// <param name="encoder">The encoder.</param>
    /// <param name="normalization">Element standardization the encoder was trained with (applied to every chunk); null = none.</param>
    /// <exception cref="NotSupportedException">The encoder is not mini-batch consistent (e.g. a Set Transformer).</exception>
    public static StreamingSetEncoder Create(SetEncoder encoder, SetColumns.SetElementNormalization? normalization = null)
        => new(Normalized(AsMiniBatchConsistent(encoder), encoder.InputDimension, normalization), encoder.InputDimension, encoder.OutputDimension);

    /// <summary>
    /// The chunk protocol of <paramref name="inner"/> on standardized elements: every chunk's real elements become
    /// (x − mean)/scale before <c>EncodeChunk</c> (padding stays 0); <paramref name="inner"/> itself when null.
    /// </summary>
    internal static IMiniBatchConsistentEncoder Normalized(IMiniBatchConsistentEncoder inner, int inputDimension, SetColumns.SetElementNormalization? normalization)
    {
        if (normalization == null) return inner;
        if (normalization.Dimension != inputDimension)
            throw new ArgumentException($"The normalization has {normalization.Dimension} features but the encoder reads {inputDimension}.", nameof(normalization));
        return new NormalizedStream(inner, normalization);
    }

    private sealed class NormalizedStream(IMiniBatchConsistentEncoder inner, SetColumns.SetElementNormalization normalization) : IMiniBatchConsistentEncoder
    {
        public PoolingKind StreamAggregation => inner.StreamAggregation;
        public Tensor? BeginStream(int batchSize) => inner.BeginStream(batchSize);
        public Tensor FinishStream(Tensor pooled, Tensor? context) => inner.FinishStream(pooled, context);
        public Tensor EncodeChunk(Tensor x, Tensor mask, Tensor? context)
        {
            using var scope = torch.NewDisposeScope();
            var mean = torch.tensor(normalization.Mean, dtype: x.dtype, device: x.device);
            var scale = torch.tensor(normalization.Scale, dtype: x.dtype, device: x.device);
            var z = (x - mean).div(scale).mul(mask.unsqueeze(-1).to(x.dtype));
            return inner.EncodeChunk(z, mask, context).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// The chunk protocol of a mini-batch consistent encoder (the encoder itself), shared by
    /// streaming, partial states (<see cref="PartialSetEncoder"/>) and chunked training (<see cref="ChunkedSetGradient"/>).
    /// </summary>
    /// <exception cref="NotSupportedException">The encoder is not mini-batch consistent.</exception>
    internal static IMiniBatchConsistentEncoder AsMiniBatchConsistent(SetEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        return encoder switch
        {
            IMiniBatchConsistentEncoder m => m,
            _ => throw new NotSupportedException(
                $"{encoder.GetType().Name} is not mini-batch consistent, so a set cannot be encoded chunk by chunk: its output depends on " +
                "all elements at once (self-attention and softmax pooling normalise over the whole set, sorting needs every element). " +
                "Use a SlotSetEncoder or DeepSets encoder for streaming."),
        };
    }

    /// <summary>Element dimension d of the chunks.</summary>
    public int InputDimension { get; }

    /// <summary>Size of the embedding <see cref="Finish"/> returns.</summary>
    public int OutputDimension { get; }

    /// <summary>Elements added since <see cref="Start"/> (all sets of the batch together).</summary>
    public long ElementCount { get; private set; }

    /// <summary>Whether a stream is open (<see cref="Start"/> called, <see cref="Finish"/> not yet).</summary>
    public bool IsStarted => started;

    /// <summary>Starts encoding <paramref name="batchSize"/> sets in parallel (each chunk then has B rows).</summary>
    public void Start(int batchSize = 1)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        Reset();
        this.batchSize = batchSize;
        using var _ = torch.no_grad();
        context = encoder.BeginStream(batchSize)?.DetachFromDisposeScope();
        count = torch.zeros(batchSize, dtype: ScalarType.Int64).DetachFromDisposeScope();
        ElementCount = 0;
        state = null;
        started = true;
    }

    private bool started;

    /// <summary>Adds one chunk: <c>x [B, n, d]</c> with <c>mask [B, n]</c> (true = real element; sets may get no element in a chunk).</summary>
    public void Add(Tensor x, Tensor mask)
    {
        if (!started) throw new InvalidOperationException("Call Start before Add.");
        if (x.dim() != 3 || x.shape[0] != batchSize || x.shape[2] != InputDimension)
            throw new ArgumentException($"A chunk must have shape [{batchSize}, n, {InputDimension}], but has [{string.Join(", ", x.shape)}].", nameof(x));
        if (mask.dim() != 2 || mask.shape[0] != batchSize || mask.shape[1] != x.shape[1])
            throw new ArgumentException($"The mask must have shape [{batchSize}, {x.shape[1]}], but has [{string.Join(", ", mask.shape)}].", nameof(mask));
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var threads = IntraOpThreads.ForWork(x.shape[0] * x.shape[1]);   // a small chunk runs on this thread alone
        var partial = encoder.EncodeChunk(x, mask, context);
        var next = state is null ? partial : MiniBatchConsistentPooling.Combine(state, partial, encoder.StreamAggregation);
        var chunkCount = mask.sum(1).to(count!.device);
        var nextCount = count.Plus(chunkCount);
        ElementCount += chunkCount.sum().item<long>();
        state?.Dispose();
        count.Dispose();
        state = next.DetachFromDisposeScope();
        count = nextCount.DetachFromDisposeScope();
    }

    /// <summary>Adds a chunk of one set (batch size 1): <paramref name="elements"/> holds n·d values, row-major.</summary>
    public void Add(ReadOnlySpan<float> elements)
    {
        if (batchSize != 1) throw new InvalidOperationException("Add(span) is for a stream of one set; start with Start(1) or pass tensors.");
        if (elements.Length % InputDimension != 0)
            throw new ArgumentException($"A chunk has {elements.Length} values, which is not a multiple of the element dimension {InputDimension}.", nameof(elements));
        long n = elements.Length / InputDimension;
        using var x = torch.tensor(elements.ToArray(), new long[] { 1, n, InputDimension });
        using var mask = torch.ones(1, n, dtype: ScalarType.Bool);
        Add(x, mask);
    }

    /// <summary>Ends the stream and returns the embeddings <c>[B, D]</c> (a stream with no elements gives the empty-set embedding).</summary>
    public Tensor Finish()
    {
        var result = Current();
        Reset();
        return result;
    }

    /// <summary>
    /// The embeddings <c>[B, D]</c> of the elements added so far, WITHOUT ending the stream (more chunks may follow):
    /// how a streaming model answers after every mini-batch.
    /// </summary>
    public Tensor Current()
    {
        if (!started) throw new InvalidOperationException("Call Start first.");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        if (state is null)
        {
            // No chunk yet: encode an empty chunk so the shapes come from the encoder itself.
            var device = count!.device;
            using var empty = torch.zeros(new long[] { batchSize, 0, InputDimension }, device: device);
            using var emptyMask = torch.zeros(new long[] { batchSize, 0 }, dtype: ScalarType.Bool, device: device);
            state = encoder.EncodeChunk(empty, emptyMask, context).DetachFromDisposeScope();
        }
        var pooled = MiniBatchConsistentPooling.Finish(state, count!.to(state.device), encoder.StreamAggregation);
        return encoder.FinishStream(pooled, context).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="Finish"/> for a stream of one set, as an array.</summary>
    public float[] FinishVector()
    {
        using var e = Finish();
        return e.CopyToArray<float>();
    }

    private void Reset()
    {
        context?.Dispose(); state?.Dispose(); count?.Dispose();
        context = state = count = null;
        started = false;
    }

    /// <summary>Releases the running state.</summary>
    public void Dispose() => Reset();
}
