using System.Runtime.Loader;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Losses;
using SetML.Models;
using SetML.Samples.Infrastructure;
using SetML.Training;
using SetML.Transforms;
using SkiaSharp;

namespace SetML.Tests.Samples;

/// <summary>
/// Images enter set prediction through ML.NET ImageAnalytics (<c>LoadImages → ResizeImages → ExtractPixels</c>), in the
/// same process as the samples' ScottPlot pictures: ImageAnalytics 5.0.1 needs SkiaSharp 2.88 and ScottPlot 5.1.59 needs
/// SkiaSharp 3 (see <see cref="SkiaSharpSideBySide"/>).
/// </summary>
[TestClass]
public sealed class ImagePipelineTests
{
    private const int Side = 8;

    private sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";
        public float[] Boxes { get; set; } = Array.Empty<float>();
    }

    private sealed class PredictionRow
    {
        public float[] PredictedSet { get; set; } = Array.Empty<float>();
    }

    /// <summary>Writes an opaque Side×Side PNG whose pixel (x, y) has colour <paramref name="color"/>(x, y).</summary>
    private static void WritePng(string path, Func<int, int, SKColor> color)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(Side, Side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
                bitmap.SetPixel(x, y, color(x, y));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    private static IEstimator<ITransformer> ImageColumns(MLContext ml, string folder) =>
        ml.Transforms.LoadImages("Image", folder, nameof(ImageRow.ImagePath))
            .Append(ml.Transforms.ResizeImages("Image", Side, Side))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", scaleImage: 1f / 255));

    [TestMethod]
    public void ExtractPixelsAndScottPlotWorkInOneProcess()
    {
        Assert.IsTrue(File.Exists(Path.Combine(SkiaSharpSideBySide.Folder, "SkiaSharp.dll")), "skia3/ is copied next to the tests");
        var folder = Directory.CreateTempSubdirectory("setml-images-").FullName;
        WritePng(Path.Combine(folder, "a.png"), (x, y) => new SKColor((byte)(x * 30), (byte)(y * 30), 200));
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(new[] { new ImageRow { ImagePath = "a.png" } });
        var pixels = ImageColumns(ml, folder).Fit(data).Transform(data).GetColumn<float[]>("Features").Single();

        // ExtractPixels' default layout: planar R, G, B; row-major within a plane.
        Assert.AreEqual(3 * Side * Side, pixels.Length);
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
            {
                int i = y * Side + x;
                Assert.AreEqual(x * 30 / 255f, pixels[i], 1e-6f, $"R at ({x}, {y})");
                Assert.AreEqual(y * 30 / 255f, pixels[Side * Side + i], 1e-6f, $"G at ({x}, {y})");
                Assert.AreEqual(200 / 255f, pixels[2 * Side * Side + i], 1e-6f, $"B at ({x}, {y})");
            }

        // A ScottPlot picture in the same process, after ImageAnalytics has bound SkiaSharp 2.
        var png = Path.Combine(folder, "plot.png");
        SavePlot(png);
        using (var decoded = SKBitmap.Decode(png))
        {
            Assert.AreEqual(200, decoded.Width);
            Assert.AreEqual(150, decoded.Height);
        }

        var skia = AppDomain.CurrentDomain.GetAssemblies().Where(a => a.GetName().Name == "SkiaSharp").ToList();
        var defaultSkia = skia.Single(a => AssemblyLoadContext.GetLoadContext(a) == AssemblyLoadContext.Default);
        Assert.AreEqual(2, defaultSkia.GetName().Version!.Major, "ImageAnalytics' SkiaSharp in the default context");
        Assert.IsTrue(skia.Any(a => a.GetName().Version!.Major >= 3 && AssemblyLoadContext.GetLoadContext(a)!.Name == "SkiaSharp3"),
            "ScottPlot's SkiaSharp 3 in its private context");
        Directory.Delete(folder, true);
    }

    /// <summary>ScottPlot code in its own method: JIT-compiled only after SetML.Samples' resolver is installed.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void SavePlot(string png)
    {
        var plot = new ScottPlot.Plot();
        plot.Add.Scatter(new double[] { 0, 1, 2 }, new double[] { 1, 0, 2 });
        plot.SavePng(png, 200, 150);
    }

    [TestMethod]
    public void ImagePipelineTrainsSavesAndReloadsASetPredictor()
    {
        var folder = Directory.CreateTempSubdirectory("setml-images-").FullName;
        var rng = new Random(3);
        var rows = new List<ImageRow>();
        for (int i = 0; i < 24; i++)
        {
            // One bright square of side 3 on black; its box (normalized x1, y1, x2, y2) is the one-element label set.
            int x0 = rng.Next(0, Side - 3), y0 = rng.Next(0, Side - 3);
            var name = $"img-{i}.png";
            WritePng(Path.Combine(folder, name), (x, y) => x >= x0 && x < x0 + 3 && y >= y0 && y < y0 + 3 ? SKColors.White : SKColors.Black);
            rows.Add(new ImageRow { ImagePath = name, Boxes = new[] { x0 / (float)Side, y0 / (float)Side, (x0 + 3) / (float)Side, (y0 + 3) / (float)Side } });
        }
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = new SetPredictionOptions
        {
            Epochs = 2, BatchSize = 8, Seed = 1, MaximumSetSize = 2, Loss = SetLossKind.Hungarian,
            InputEncoder = new ConvInputEncoderOptions { Channels = 3, Height = Side, Width = Side, ConvChannels = new[] { 4, 4 } },
            Decoder = new DspnOptions { EncoderHiddenSizes = new[] { 8 }, InnerSteps = 2 },
        };
        var model = ImageColumns(ml, folder).Append(ml.SetPrediction().Trainers.Dspn("Boxes", "Features", 4, options)).Fit(data);
        var before = ml.Data.CreateEnumerable<PredictionRow>(model.Transform(data), false).Select(r => r.PredictedSet).ToList();

        var path = Path.Combine(folder, "model.zip");
        ml.Model.Save(model, data.Schema, path);
        var reloaded = new MLContext(5).Model.Load(path, out _);
        var after = ml.Data.CreateEnumerable<PredictionRow>(reloaded.Transform(data), false).Select(r => r.PredictedSet).ToList();
        Assert.AreEqual(rows.Count, before.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.IsTrue(before[i].All(float.IsFinite), $"row {i}: finite predictions");
            Assert.IsTrue(before[i].Length % 4 == 0 && before[i].Length <= 8, $"row {i}: whole boxes, at most MaximumSetSize");
            CollectionAssert.AreEqual(before[i], after[i], $"row {i}: reloaded pipeline (images + DSPN) predicts the same set");
        }
        (model.LastTransformer as IDisposable)?.Dispose();
        Directory.Delete(folder, true);
    }
}
