using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using Orleans.Hosting;
using SetML.Modules;
using SetML.Transforms;

namespace SetML.Samples.Distributed;

/// <summary>
/// The trained encoder of one silo: the ML.NET model file is loaded once, when the silo first needs it, and shared by
/// every <see cref="SetPartitionEncoderGrain"/> activation of the silo. At most
/// <see cref="MaxConcurrentEncodes"/> partitions are encoded at once (libtorch already uses several threads per encode).
/// </summary>
public sealed class SiloSetEncoder : IDisposable
{
    private readonly Lazy<(ITransformer Model, PartialSetEncoder Encoder)> model;
    private readonly SemaphoreSlim slots;

    /// <summary>Creates the holder; nothing is loaded before the first encode.</summary>
    /// <param name="modelPath">An ML.NET model .zip whose pipeline contains a SetML set encoder model with a mini-batch consistent encoder.</param>
    /// <param name="maxConcurrentEncodes">Partitions encoded at once on this silo (≥ 1).</param>
    /// <param name="chunkElements">Elements per forward pass inside a partition (bounds the memory of an encode).</param>
    public SiloSetEncoder(string modelPath, int maxConcurrentEncodes, int chunkElements = 65_536)
    {
        if (maxConcurrentEncodes < 1) throw new ArgumentOutOfRangeException(nameof(maxConcurrentEncodes), maxConcurrentEncodes, "At least one encode at a time.");
        ModelPath = modelPath;
        MaxConcurrentEncodes = maxConcurrentEncodes;
        ChunkElements = chunkElements;
        slots = new SemaphoreSlim(maxConcurrentEncodes, maxConcurrentEncodes);
        model = new Lazy<(ITransformer, PartialSetEncoder)>(() => Load(modelPath), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The model file.</summary>
    public string ModelPath { get; }

    /// <summary>Partitions encoded at once on this silo.</summary>
    public int MaxConcurrentEncodes { get; }

    /// <summary>Elements per forward pass.</summary>
    public int ChunkElements { get; }

    /// <summary>The partial-state encoder (loads the model on first use).</summary>
    public PartialSetEncoder Encoder => model.Value.Encoder;

    /// <summary>Number of partitions this silo has encoded.</summary>
    public long PartitionsEncoded => Interlocked.Read(ref partitions);
    private long partitions;

    /// <summary>Encodes a partition of one set (n·d values) on a thread-pool thread; returns the state's binary form.</summary>
    public async Task<byte[]> EncodeAsync(float[] elements)
    {
        var encoder = Encoder;
        await slots.WaitAsync().ConfigureAwait(false);
        try
        {
            // Off the grain scheduler: a forward pass is long, CPU-bound native work.
            var state = await Task.Run(() => encoder.EncodePartial(elements, ChunkElements)).ConfigureAwait(false);
            Interlocked.Increment(ref partitions);
            return state.ToBytes();
        }
        finally { slots.Release(); }
    }

    /// <summary>Loads an ML.NET model file and returns its partial-state encoder (the first SetML encoder model in the pipeline).</summary>
    /// <exception cref="InvalidOperationException">The file holds no SetML set encoder model.</exception>
    public static (ITransformer Model, PartialSetEncoder Encoder) Load(string modelPath)
    {
        var ml = new MLContext();
        var loaded = ml.Model.Load(modelPath, out _);
        var candidates = loaded is IEnumerable<ITransformer> chain ? chain : new[] { loaded };
        var setModel = candidates.OfType<SetModelTransformer>().FirstOrDefault()
            ?? throw new InvalidOperationException($"The model '{modelPath}' contains no SetML set model (a SetModelTransformer) to encode sets with.");
        return (loaded, setModel.CreatePartialEncoder());
    }

    /// <summary>Releases the model.</summary>
    public void Dispose()
    {
        if (model.IsValueCreated && model.Value.Model is IDisposable d) d.Dispose();
        slots.Dispose();
    }
}

/// <summary>Silo configuration for the set-encoding grains.</summary>
public static class SetEncoderSiloExtensions
{
    /// <summary>
    /// Registers the silo's <see cref="SiloSetEncoder"/> (the model at <paramref name="modelPath"/>, loaded once per silo);
    /// the grains themselves are found by Orleans in this assembly.
    /// </summary>
    public static ISiloBuilder AddSetEncoderGrains(this ISiloBuilder silo, string modelPath, int maxConcurrentEncodes = 1, int chunkElements = 65_536)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        silo.Services.AddSingleton(_ => new SiloSetEncoder(modelPath, maxConcurrentEncodes, chunkElements));
        // Load the model when the silo starts (once per silo), not inside the first request.
        silo.AddStartupTask((services, _) => { services.GetRequiredService<SiloSetEncoder>().Encoder.ToString(); return Task.CompletedTask; });
        return silo;
    }
}
