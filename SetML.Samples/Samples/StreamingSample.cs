using System.Diagnostics;
using System.Globalization;
using SetML.Models;
using SetML.Modules;
using SetML.Samples.Data;
using SetML.Samples.Infrastructure;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Samples.Samples;

/// <summary>
/// <c>streaming</c>: the Slot Set Encoder paper's central experiment (Andreis et al. 2021, Figure 3b) on Fashion-MNIST.
/// A conditional neural process encodes context pixels (x, y, intensity) and decodes the intensity at all 784
/// coordinates. Trained on 200 context points; at test time 200, 400, 600 and 784 context points arrive in mini-batches
/// of 200. The mini-batch consistent encoders (Slot Set Encoder, Deep Sets) keep improving as batches arrive; the Set
/// Transformer baseline (φ + one PMA block, as in the paper), whose softmax attention needs the whole set at once, can
/// use only one batch. Before training, a 10,000,000-element set (d = 3) is streamed through freshly built encoders of
/// the same shapes to measure throughput and memory.
/// </summary>
public sealed class StreamingSample : Sample
{
    private const int Side = 28, Pixels = Side * Side, TrainContext = 200, Chunk = 200, TrainTargets = 196;
    private static readonly int[] ContextSizes = { 200, 400, 600, 784 };

    /// <inheritdoc />
    public override string Name => "streaming";

    /// <inheritdoc />
    public override string Description => "Mini-batch consistent encoding (Slot Set Encoder paper, Fig. 3b): a neural process on Fashion-MNIST pixels, streamed context, 10M-element throughput";

    /// <inheritdoc />
    public override int DefaultEpochs => 10;

    /// <inheritdoc />
    public override string Help => Description + @"

Paper: Andreis et al., Mini-Batch Consistent Slot Set Encoders for Scalable Set Encoding (NeurIPS 2021), Figure 3b
(CelebA 64×64 there, trained on 1,000 context points and streamed 1,000–4,000 in mini-batches of 1,000; Fashion-MNIST
28×28 here, trained on 200 and streamed 200–784 in mini-batches of 200). The paper gives Figure 3b as a plot only: the
NLL of the Slot Set Encoder and of Deep Sets falls with every batch, the Slot Set Encoder's is the lowest at every size,
and the Set Transformer stays at its first batch.
Models (each encodes a set to 64 values; the same decoder, data, optimizer and steps for all three):
  Slot Set Encoder  φ (3→64→64→64), one Slot Set Encoder level (K = 16 random slots, h = d̂ = 64, mean aggregation,
                    SetML's default output LayerNorm), ρ (1024→128→64): SetML's SlotSetEncoder.
  Deep Sets         φ (3→64→64→64), mean pooling, ρ (64→64→64): SetML's DeepSetsEncoder (the paper's mean baseline).
  Set Transformer   φ (3→64→64→64) and a single PMA block with one seed (the paper's baseline: one PMA block).
Decoder: (r, x, y) → 64 → 64 → 64 → (mean, σ ≥ 0.01) of the intensity (the paper's Table 4 at width 64).
Training: 12,000 training images (a fresh random 200-point context and 196-point target set per image and step),
10 epochs (3,750 steps) at batch 32, Adam 1e-3 (the paper's), cosine decay, gradient clipping at 10.
Test: 1,000 test images, NLL and MSE per pixel over all 784 pixels after each streamed batch.
Prints the table, the paper's finding beside ours and whether its ranking holds, draws streaming_nll.png, and
streams 10,000,000 random (x, y, intensity) elements through the Slot Set Encoder and Deep Sets (elements/s, memory).";

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> Options => new[]
    {
        ("--budget", "multiplies the training epochs (default 1 = 10 epochs, 3,750 steps; 2 = 20 epochs)"),
        ("--train", "training images (default 12,000; the first N of the 60,000)"),
        ("--test", "test images (default 1,000)"),
    };

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, string Help)> TextOptions => new[]
    {
        ("--models", "comma-separated parts of model names to train (default all), e.g. 'Slot,Deep Sets'"),
    };

    /// <inheritdoc />
    public override int Run(SampleContext ctx)
    {
        if (!FashionMnist.IsInstalled())
        {
            ctx.Out.WriteLine("apt-get install dataset-fashion-mnist");
            return 2;
        }
        int trainImages = ctx.Quick ? 128 : (int)Math.Min(60_000, ctx.Option("--train", 12_000));
        int testImages = ctx.Quick ? 40 : (int)Math.Min(10_000, ctx.Option("--test", 1_000));
        long streamElements = ctx.Quick ? 40_000 : 10_000_000;
        int epochs = ctx.Quick ? 1 : (int)(ctx.Epochs * ctx.Option("--budget", 1));
        var train = FashionMnist.Load(FashionMnistSplit.Train, trainImages);
        var test = FashionMnist.Load(FashionMnistSplit.Test, testImages);
        ctx.Out.WriteLine($"Fashion-MNIST: {train.Count} training images, {test.Count} test images; {epochs} epochs; context {TrainContext} points when training.");

        var models = Encoders(ctx);
        var filters = ctx.TextOption("--models")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        // Throughput first, in a fresh process state, so the peak working set reported is that of streaming (the cost
        // of a forward pass does not depend on the weights, so freshly initialised encoders of the same shape are used).
        ThroughputReport(ctx, models.Take(2).ToArray(), streamElements);
        ctx.Out.WriteLine();

        var curves = new List<(string Name, double[] Nll, double[] Mse)>();
        var trained = new Dictionary<string, ConditionalNeuralProcess>();
        foreach (var (name, create) in models)
        {
            if (filters != null && !filters.Any(f => name.Contains(f, StringComparison.OrdinalIgnoreCase))) continue;
            if (ctx.Cancellation.IsCancellationRequested) break;
            ConditionalNeuralProcess cnp;
            lock (TorchRuntime.InitializationLock)
            {
                TorchRuntime.Seed(ctx.Seed);
                cnp = new ConditionalNeuralProcess(create(), ctx.Quick ? 32 : 64);
            }
            var watch = Stopwatch.StartNew();
            var result = Train(cnp, train, epochs, ctx, name);
            ctx.Out.WriteLine($"{name}: trained {result.EpochsRun} epochs in {watch.Elapsed.TotalSeconds:F0} s, last training NLL {result.TrainingLosses.LastOrDefault():F4}.");
            cnp.eval();
            bool mbc = StreamingSetEncoder.IsSupported(cnp.Encoder);
            var (nll, mse) = Evaluate(cnp, test, ctx.Seed, streamed: mbc);
            curves.Add((mbc ? name : name + " (first batch only)", nll, mse));
            if (!mbc)
            {
                // For reference only: the Set Transformer given the whole context at once, which streaming forbids.
                var (nllAll, mseAll) = Evaluate(cnp, test, ctx.Seed, streamed: false, wholeContext: true);
                curves.Add((name + " (whole context at once, not streamed)", nllAll, mseAll));
            }
            trained[name] = cnp;
        }

        var table = new List<string[]> { new[] { "model" }.Concat(ContextSizes.Select(c => $"NLL@{c}")).Concat(ContextSizes.Select(c => $"MSE@{c}")).ToArray() };
        foreach (var (name, nll, mse) in curves)
        {
            table.Add(new[] { name }.Concat(nll.Select(F)).Concat(mse.Select(F)).ToArray());
            var metrics = new Dictionary<string, double>();
            for (int i = 0; i < ContextSizes.Length; i++) { metrics[$"NLL@{ContextSizes[i]}"] = nll[i]; metrics[$"MSE@{ContextSizes[i]}"] = mse[i]; }
            ctx.Results.Add(name, metrics);
        }
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("Per-pixel Gaussian NLL and MSE on all 784 pixels of the test images, by number of context points streamed in batches of 200:");
        PrintTable(ctx.Out, table);
        PaperComparison(ctx, curves);
        DrawCurves(ctx, curves);

        foreach (var cnp in trained.Values) cnp.Dispose();
        return 0;
    }

    /// <summary>
    /// The paper's finding beside ours (Figure 3b is a plot: no figures to print) and one line saying whether its ranking
    /// holds: both mini-batch consistent encoders improve with every batch, the Slot Set Encoder is at least as good as
    /// Deep Sets with the whole context, and the Set Transformer's first-batch curve is flat.
    /// </summary>
    private static void PaperComparison(SampleContext ctx, List<(string Name, double[] Nll, double[] Mse)> curves)
    {
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("Paper (Fig. 3b, CelebA, 1,000–4,000 points in batches of 1,000; a plot, no numbers): NLL falls with every batch for the Slot Set Encoder");
        ctx.Out.WriteLine("and Deep Sets, the Slot Set Encoder lowest at every size; the Set Transformer stays at its first batch.");
        var slot = curves.FirstOrDefault(c => c.Name == "Slot Set Encoder");
        var deepSets = curves.FirstOrDefault(c => c.Name == "Deep Sets");
        var first = curves.FirstOrDefault(c => c.Name.EndsWith("(first batch only)", StringComparison.Ordinal));
        if (slot.Nll is null || deepSets.Nll is null || first.Nll is null)
        {
            ctx.Out.WriteLine("Paper's ranking: not checked (it needs all three models; --models left some out).");
            return;
        }
        static bool Falls(double[] v) => v.Zip(v.Skip(1)).All(p => p.Second < p.First);
        bool slotFalls = Falls(slot.Nll), deepSetsFalls = Falls(deepSets.Nll), flat = first.Nll.All(v => v == first.Nll[0]);
        bool slotBest = slot.Nll[^1] <= deepSets.Nll[^1];
        bool holds = slotFalls && deepSetsFalls && flat && slotBest;
        ctx.Out.WriteLine($"Paper's ranking (Slot Set Encoder ≤ Deep Sets at {ContextSizes[^1]} points, both improving with every batch, Set Transformer flat): " +
            $"{(holds ? "holds" : "does not hold")} here (NLL at {ContextSizes[^1]}: Slot Set Encoder {F(slot.Nll[^1])}, Deep Sets {F(deepSets.Nll[^1])}; " +
            $"Slot {(slotFalls ? "improves" : "does not improve")} with every batch, Deep Sets {(deepSetsFalls ? "improves" : "does not improve")}, " +
            $"Set Transformer first batch {(flat ? "flat" : "not flat")}).");
        ctx.Results.Add("paper ranking", new Dictionary<string, double>
        {
            ["holds"] = holds ? 1 : 0, ["slot_minus_deep_sets_nll_at_784"] = slot.Nll[^1] - deepSets.Nll[^1],
            ["slot_improves_every_batch"] = slotFalls ? 1 : 0, ["deep_sets_improves_every_batch"] = deepSetsFalls ? 1 : 0, ["set_transformer_flat"] = flat ? 1 : 0,
        });
    }

    /// <summary>The three encoders compared, all ending in a 64-value embedding (16 in quick mode).</summary>
    internal static (string Name, Func<SetEncoder> Create)[] Encoders(SampleContext ctx)
    {
        int width = ctx.Quick ? 16 : 64;
        return new (string Name, Func<SetEncoder> Create)[]
        {
            // SetML's default Slot Set Encoder level (random slots, output LayerNorm) at the paper's width 64, with mean
            // aggregation so the representation keeps its scale when more points stream in than were trained on.
            ("Slot Set Encoder", () => new SlotSetEncoder(3, new SlotSetEncoderOptions { PhiHiddenSizes = new[] { width, width }, PhiOutputDimension = width, SlotCounts = new[] { 16 }, SlotDimension = width, AttentionDimension = width, Aggregation = PoolingKind.Mean, SlotInitialization = SlotInitialization.Random, SlotSeed = ctx.Seed, RhoHiddenSizes = new[] { 2 * width }, EmbeddingDimension = width })),
            ("Deep Sets", () => new DeepSetsEncoder(3, new DeepSetsOptions { PhiHiddenSizes = new[] { width, width }, LatentDimension = width, RhoHiddenSizes = new[] { width }, EmbeddingDimension = width, Pooling = PoolingKind.Mean })),
            ("Set Transformer", () => new PmaEncoder(3, width, 4)),
        };
    }

    /// <summary>Streams one set of <paramref name="elements"/> elements (d = 3) through each encoder; prints and records elements/s and memory.</summary>
    internal static void ThroughputReport(SampleContext ctx, (string Name, Func<SetEncoder> Create)[] encoders, long elements)
    {
        ctx.Out.WriteLine($"Streaming throughput: one set of {elements:N0} random elements (d = 3) in chunks of 10,000, through each mini-batch consistent encoder:");
        foreach (var (name, create) in encoders)
        {
            SetEncoder encoder;
            lock (TorchRuntime.InitializationLock) { TorchRuntime.Seed(ctx.Seed); encoder = create(); }
            encoder.eval();
            var (rate, seconds, growth, peak) = Throughput(encoder, elements, 10_000, ctx.Seed);
            encoder.Dispose();
            ctx.Out.WriteLine($"  {name,-17} {rate,12:N0} elements/s   {seconds,6:F1} s   working set +{growth / 1e6,6:F1} MB while streaming   process peak working set so far {peak / 1e6,5:F0} MB{(peak < 1e9 ? " (< 1 GB)" : " (over 1 GB!)")}");
            ctx.Results.Add($"{name} streaming {elements:N0} elements", new Dictionary<string, double>
            {
                ["elements_per_second"] = rate, ["seconds"] = seconds, ["elements"] = elements,
                ["working_set_growth_mb"] = growth / 1e6, ["peak_working_set_mb"] = peak / 1e6,
            });
        }
    }

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);

    // (x, y) of pixel p in [−1, 1]², row-major.
    private static (float X, float Y) Coordinate(int p) => (p % Side / (Side - 1f) * 2 - 1, p / Side / (Side - 1f) * 2 - 1);

    private static TrainingResult Train(ConditionalNeuralProcess cnp, FashionMnist data, int epochs, SampleContext ctx, string name)
    {
        var rng = new Random(ctx.Seed ^ 0x51e7);
        var order = Enumerable.Range(0, Pixels).ToArray();
        var options = new SetTrainingOptions
        {
            Epochs = epochs, BatchSize = 32, LearningRate = 1e-3, Seed = ctx.Seed, GradientClipNorm = 10,
            Progress = ctx.Progress(name), CancellationToken = ctx.Cancellation,
        };
        Tensor Loss(int[] idx)
        {
            // Each image: a random context of 200 pixels and a random target set of 196 pixels (all 784 at test time).
            var context = new float[idx.Length * TrainContext * 3];
            var targetXy = new float[idx.Length * TrainTargets * 2];
            var targetY = new float[idx.Length * TrainTargets];
            for (int b = 0; b < idx.Length; b++)
            {
                var image = data.Pixels(idx[b]);
                TrainingLoop.Shuffle(order, rng);
                for (int i = 0; i < TrainContext; i++) Write(context, (b * TrainContext + i) * 3, order[i], image, true);
                TrainingLoop.Shuffle(order, rng);
                for (int i = 0; i < TrainTargets; i++)
                {
                    var (x, y) = Coordinate(order[i]);
                    targetXy[(b * TrainTargets + i) * 2] = x; targetXy[(b * TrainTargets + i) * 2 + 1] = y;
                    targetY[b * TrainTargets + i] = image[order[i]] / 255f;
                }
            }
            var cx = torch.tensor(context, new long[] { idx.Length, TrainContext, 3 });
            var mask = torch.ones(idx.Length, TrainContext, dtype: ScalarType.Bool);
            var r = cnp.Encoder.forward(cx, mask);
            var (mu, sigma) = cnp.Decode(r, torch.tensor(targetXy, new long[] { idx.Length, TrainTargets, 2 }));
            return ConditionalNeuralProcess.GaussianNll(mu, sigma, torch.tensor(targetY, new long[] { idx.Length, TrainTargets })).mean();
        }
        return TrainingLoop.Run(cnp, options, data.Count, Loss);
    }

    private static void Write(float[] buffer, int offset, int pixel, ReadOnlySpan<byte> image, bool withIntensity)
    {
        var (x, y) = Coordinate(pixel);
        buffer[offset] = x; buffer[offset + 1] = y;
        if (withIntensity) buffer[offset + 2] = image[pixel] / 255f;
    }

    /// <summary>
    /// Per-pixel NLL and MSE over all 784 pixels for each context size. Streamed: the context arrives in chunks of 200
    /// through a <see cref="StreamingSetEncoder"/>, and the model answers after each chunk. Not streamed: the encoder
    /// sees only the first chunk (<paramref name="wholeContext"/> false) or the whole context at once.
    /// </summary>
    private static (double[] Nll, double[] Mse) Evaluate(ConditionalNeuralProcess cnp, FashionMnist data, int seed, bool streamed, bool wholeContext = false)
    {
        const int batch = 100;                                   // PMA's attention map is [B·heads, 1, n]: linear in n
        var rng = new Random(seed + 12345);                       // the same contexts for every model
        var nll = new double[ContextSizes.Length];
        var mse = new double[ContextSizes.Length];
        var allXy = new float[Pixels * 2];
        for (int p = 0; p < Pixels; p++) (allXy[2 * p], allXy[2 * p + 1]) = Coordinate(p);
        using var noGrad = torch.no_grad();
        using var stream = streamed ? StreamingSetEncoder.Create(cnp.Encoder) : null;
        for (int start = 0; start < data.Count; start += batch)
        {
            using var scope = torch.NewDisposeScope();
            int b = Math.Min(batch, data.Count - start);
            var orders = new int[b][];
            var truth = new float[b * Pixels];
            for (int i = 0; i < b; i++)
            {
                orders[i] = Enumerable.Range(0, Pixels).ToArray();
                TrainingLoop.Shuffle(orders[i], rng);
                var image = data.Pixels(start + i);
                for (int p = 0; p < Pixels; p++) truth[i * Pixels + p] = image[p] / 255f;
            }
            var y = torch.tensor(truth, new long[] { b, Pixels });
            var xy = torch.tensor(allXy, new long[] { 1, Pixels, 2 }).expand(b, -1, -1);
            Tensor Context(int from, int to)
            {
                var c = new float[b * (to - from) * 3];
                for (int i = 0; i < b; i++)
                {
                    var image = data.Pixels(start + i);
                    for (int k = from; k < to; k++) Write(c, (i * (to - from) + k - from) * 3, orders[i][k], image, true);
                }
                return torch.tensor(c, new long[] { b, to - from, 3 });
            }
            stream?.Start(b);
            Tensor? firstBatch = null;
            for (int s = 0; s < ContextSizes.Length; s++)
            {
                int from = s == 0 ? 0 : ContextSizes[s - 1], to = ContextSizes[s];
                Tensor r;
                if (stream != null)
                {
                    var chunk = Context(from, to);
                    stream.Add(chunk, torch.ones(b, to - from, dtype: ScalarType.Bool));
                    r = stream.Current();
                }
                else if (wholeContext) r = cnp.Encoder.forward(Context(0, to), torch.ones(b, to, dtype: ScalarType.Bool));
                else r = firstBatch ??= cnp.Encoder.forward(Context(0, Chunk), torch.ones(b, Chunk, dtype: ScalarType.Bool));
                var (mu, sigma) = cnp.Decode(r, xy);
                nll[s] += ConditionalNeuralProcess.GaussianNll(mu, sigma, y).sum().item<float>();
                mse[s] += (mu - y).Squared().sum().item<float>();
            }
            if (stream is { IsStarted: true }) stream.Finish().Dispose();
        }
        double n = (double)data.Count * Pixels;
        return (nll.Select(v => v / n).ToArray(), mse.Select(v => v / n).ToArray());
    }

    /// <summary>Streams <paramref name="elements"/> random (x, y, intensity) elements in chunks; elements/s, seconds, working-set growth, process peak.</summary>
    private static (double Rate, double Seconds, long Growth, long Peak) Throughput(SetEncoder encoder, long elements, int chunk, int seed)
    {
        using var stream = StreamingSetEncoder.Create(encoder);
        using var generator = new Generator((ulong)seed);
        using var mask = torch.ones(1, chunk, dtype: ScalarType.Bool);
        var process = Process.GetCurrentProcess();
        GC.Collect();
        process.Refresh();
        long before = process.WorkingSet64, highest = before;
        var watch = Stopwatch.StartNew();
        stream.Start(1);
        for (long done = 0; done < elements; done += chunk)
        {
            using var scope = torch.NewDisposeScope();              // frees the chunk and its temporaries every iteration
            int n = (int)Math.Min(chunk, elements - done);
            var x = torch.rand(new long[] { 1, n, 3 }, generator: generator).MulScalar(2).SubScalar(1L);
            stream.Add(x, n == chunk ? mask : torch.ones(1, n, dtype: ScalarType.Bool));
            if (done / chunk % 100 == 0) { process.Refresh(); highest = Math.Max(highest, process.WorkingSet64); }
        }
        var embedding = stream.FinishVector();
        double seconds = watch.Elapsed.TotalSeconds;
        if (!embedding.All(float.IsFinite)) throw new InvalidOperationException("The streamed embedding is not finite.");
        process.Refresh();
        highest = Math.Max(highest, process.WorkingSet64);
        return (elements / seconds, seconds, highest - before, process.PeakWorkingSet64);
    }

    private static void PrintTable(TextWriter output, List<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var (row, i) in rows.Select((r, i) => (r, i)))
        {
            output.WriteLine(string.Join("  ", row.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))));
            if (i == 0) output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        }
    }

    private static void DrawCurves(SampleContext ctx, List<(string Name, double[] Nll, double[] Mse)> curves)
    {
        var plt = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int i = 0;
        foreach (var (name, nll, _) in curves)
        {
            var s = plt.Add.Scatter(ContextSizes.Select(c => (double)c).ToArray(), nll, palette.GetColor(i++));
            s.LegendText = name;
            s.LineWidth = 2;
            s.MarkerSize = 8;
            if (name.Contains("not streamed", StringComparison.Ordinal)) s.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        plt.Title("Streamed context (batches of 200), models trained on 200 points — Fashion-MNIST");
        plt.XLabel("context points");
        plt.YLabel("test NLL per pixel (lower is better)");
        plt.ShowLegend(ScottPlot.Edge.Bottom);
        var path = Path.Combine(ctx.OutputDirectory, "streaming_nll.png");
        plt.SavePng(path, 900, 640);
        ctx.SavedPicture(path, "NLL per pixel vs streamed context size: the mini-batch consistent encoders improve with every batch; the Set Transformer keeps its first batch");
    }
}

/// <summary>
/// The Set Transformer baseline of the paper's image-reconstruction experiment (§3.1: "a single PMA block"): a row-wise
/// MLP φ (d → w → w → w, ReLU, as the paper's Table 3 encoder) and one PMA block with one seed, PMA_1(φ(X)) [B, w]. Its
/// softmax over elements needs the whole set at once, so it is not mini-batch consistent.
/// </summary>
internal sealed class PmaEncoder : SetEncoder
{
    private readonly Mlp phi;
    private readonly Pma pma;

    /// <summary>Creates φ (d → w → w → w) and PMA_1 of width w with <paramref name="heads"/> heads, no LayerNorm.</summary>
    public PmaEncoder(int inputDimension, int width, int heads) : base(nameof(PmaEncoder))
    {
        phi = new Mlp(inputDimension, new[] { width, width }, width);
        pma = new Pma(width, heads, 1, layerNorm: false);
        InputDimension = inputDimension;
        OutputDimension = width;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int InputDimension { get; }

    /// <inheritdoc />
    public override int OutputDimension { get; }

    /// <summary>PMA_1(φ(X)) for <c>x [B, n, d]</c>, <c>mask [B, n]</c> → <c>[B, w]</c>.</summary>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        return pma.forward(phi.forward(x), mask).flatten(1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A conditional neural process (Garnelo et al. 2018) with any set encoder: r = encoder(context), then an MLP decoder
/// maps (r, x, y) to the mean and standard deviation of the intensity at (x, y). The decoder has the shape of the Slot
/// Set Encoder paper's Table 4 (three hidden ReLU layers; 64 wide here instead of 128, to train in minutes on a CPU),
/// with 2 outputs (mean, σ) for a grey image.
/// </summary>
internal sealed class ConditionalNeuralProcess : nn.Module
{
    private readonly SetEncoder encoder;
    private readonly Mlp decoder;

    public ConditionalNeuralProcess(SetEncoder encoder, int hidden) : base(nameof(ConditionalNeuralProcess))
    {
        this.encoder = encoder;
        decoder = new Mlp(encoder.OutputDimension + 2, new[] { hidden, hidden, hidden }, 2);
        RegisterComponents();
    }

    public SetEncoder Encoder => encoder;

    /// <summary>Mean and σ (bounded below by 0.01) at target coordinates <c>xy [B, T, 2]</c> for representations <c>r [B, D]</c>.</summary>
    public (Tensor Mu, Tensor Sigma) Decode(Tensor r, Tensor xy)
    {
        var input = torch.cat(new[] { r.unsqueeze(1).expand(-1, xy.shape[1], -1), xy }, 2);
        var output = decoder.forward(input);
        // softplus(s) = max(s, 0) + log(1 + e^−|s|), written out: TorchSharp's softplus passes implicit temporary Scalars.
        var sp = output[.., .., 1];
        return (output[.., .., 0], nn.functional.relu(sp).Plus(sp.abs().neg().exp().log1p()).MulScalar(0.99).AddScalar(0.01));
    }

    /// <summary>Gaussian negative log-likelihood per target.</summary>
    public static Tensor GaussianNll(Tensor mu, Tensor sigma, Tensor y)
        => sigma.log().Plus((y - mu).Squared() / sigma.Squared().MulScalar(2)).AddScalar(0.5 * Math.Log(2 * Math.PI));
}
