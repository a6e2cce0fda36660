using ScottPlot;
using SetML.Training;

namespace SetML.Samples.Infrastructure;

/// <summary>
/// The pictures samples save (ScottPlot, PNG): training curves, 2-D scatters of embeddings, point-set drawings,
/// rows of images and bar charts. Each method saves the file and announces it with its caption through
/// <see cref="SampleContext.SavedPicture"/>; it returns the path.
/// </summary>
public static class Pictures
{
    private static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    /// <summary>Colour number <paramref name="i"/> of the palette shared by all pictures.</summary>
    public static Color ColorOf(int i) => Palette.GetColor(i);

    /// <summary>
    /// Loss per epoch of the trainings in <paramref name="curves"/> (from <see cref="SampleContext.Curves"/>; all of them when
    /// null): training loss solid, validation loss dashed. <paramref name="relative"/> divides each curve by its first
    /// training loss, so trainings with different losses share one axis.
    /// </summary>
    public static string TrainingCurves(SampleContext ctx, string fileName, string caption,
        IEnumerable<KeyValuePair<string, IReadOnlyList<TrainingProgress>>>? curves = null, string yLabel = "loss", bool relative = false)
    {
        var plt = new Plot();
        int i = 0;
        foreach (var (label, points) in curves ?? ctx.Curves)
        {
            if (points.Count == 0) continue;
            var color = ColorOf(i++);
            double scale = relative && points[0].TrainingLoss != 0 ? 1 / points[0].TrainingLoss : 1;
            var s = plt.Add.Scatter(points.Select(p => (double)p.Epoch).ToArray(), points.Select(p => p.TrainingLoss * scale).ToArray(), color);
            s.LegendText = label;
            s.LineWidth = 2;
            if (points.All(p => p.ValidationLoss.HasValue))
            {
                var v = plt.Add.Scatter(points.Select(p => (double)p.Epoch).ToArray(), points.Select(p => p.ValidationLoss!.Value * scale).ToArray(), color);
                v.LegendText = label + " (validation)";
                v.LinePattern = LinePattern.Dashed;
            }
        }
        SetTitle(plt, caption);
        plt.XLabel("epoch");
        plt.YLabel(relative ? yLabel + " ÷ epoch-1 training loss" : yLabel);
        plt.ShowLegend(Alignment.UpperRight);
        return Save(ctx, plt, fileName, caption, 800, 500);
    }

    /// <summary>
    /// The first two principal components of <paramref name="embeddings"/> (one row per item), coloured by
    /// <paramref name="labels"/> with <paramref name="classNames"/> in the legend.
    /// </summary>
    public static string EmbeddingScatter(SampleContext ctx, string fileName, string caption, IReadOnlyList<float[]> embeddings,
        IReadOnlyList<int> labels, IReadOnlyList<string> classNames)
    {
        var xy = Pca2(embeddings);
        var plt = new Plot();
        for (int c = 0; c < classNames.Count; c++)
        {
            var idx = Enumerable.Range(0, labels.Count).Where(i => labels[i] == c).ToArray();
            if (idx.Length == 0) continue;
            var m = plt.Add.Markers(idx.Select(i => xy[i].X).ToArray(), idx.Select(i => xy[i].Y).ToArray(), MarkerShape.FilledCircle, 5, ColorOf(c));
            m.LegendText = classNames[c];
        }
        SetTitle(plt, caption);
        plt.XLabel("principal component 1");
        plt.YLabel("principal component 2");
        plt.ShowLegend(Edge.Right);
        return Save(ctx, plt, fileName, caption, 900, 600);
    }

    /// <summary>
    /// Draws 2-D point sets in a grid of cells (each set's points are expected in [0, 1]²). A cell may hold a second set
    /// (<c>Overlay</c>, e.g. a prediction) drawn in another colour; <paramref name="legend"/> names the two.
    /// </summary>
    public static string PointSetGrid(SampleContext ctx, string fileName, string caption,
        IReadOnlyList<(float[] Set, float[]? Overlay, string Title)> cells, int columns, (string Set, string Overlay)? legend = null)
    {
        var plt = new Plot();
        const double cell = 1.25;
        int rows = (cells.Count + columns - 1) / columns;
        for (int k = 0; k < cells.Count; k++)
        {
            double ox = (k % columns) * cell, oy = (rows - 1 - k / columns) * cell;
            var frame = plt.Add.Rectangle(ox, ox + 1, oy, oy + 1);
            frame.FillStyle.Color = Colors.Transparent;
            frame.LineStyle.Color = Colors.LightGray;
            AddPoints(plt, cells[k].Set, ox, oy, ColorOf(0), k == 0 ? legend?.Set : null, 4);
            if (cells[k].Overlay is { } o) AddPoints(plt, o, ox, oy, ColorOf(3), k == 0 ? legend?.Overlay : null, 6, MarkerShape.OpenCircle);
            var t = plt.Add.Text(cells[k].Title, ox + 0.5, oy + 1.02);
            t.LabelFontSize = 12;
            t.LabelAlignment = Alignment.LowerCenter;
        }
        plt.Axes.SetLimits(-0.1, columns * cell, -0.1, rows * cell + 0.05);
        plt.Axes.Frameless();
        plt.HideGrid();
        SetTitle(plt, caption);
        if (legend != null) plt.ShowLegend(Alignment.LowerRight);
        return Save(ctx, plt, fileName, caption, Math.Max(720, 260 * columns), 270 * rows + 60);
    }

    private static void AddPoints(Plot plt, float[] set, double ox, double oy, Color color, string? legend, float size, MarkerShape shape = MarkerShape.FilledCircle)
    {
        int n = set.Length / 2;
        if (n == 0) return;
        var xs = new double[n];
        var ys = new double[n];
        for (int i = 0; i < n; i++) { xs[i] = ox + set[2 * i]; ys[i] = oy + set[2 * i + 1]; }
        var m = plt.Add.Markers(xs, ys, shape, size, color);
        if (legend != null) m.LegendText = legend;
    }

    /// <summary>
    /// Rows of 28×28 grey images (pixels in [0, 1]). Each image may carry a short label underneath; images whose
    /// <c>Highlight</c> is true get a red frame (e.g. the anomaly of a set).
    /// </summary>
    public static string ImageRows(SampleContext ctx, string fileName, string caption,
        IReadOnlyList<(string RowTitle, IReadOnlyList<(float[] Pixels, string Label, bool Highlight)> Images)> rows)
    {
        var plt = new Plot();
        const double cell = 1.2;
        int columns = rows.Max(r => r.Images.Count);
        for (int r = 0; r < rows.Count; r++)
        {
            double oy = (rows.Count - 1 - r) * (cell + 0.25);
            var title = plt.Add.Text(rows[r].RowTitle, -0.1, oy + 0.5);
            title.LabelAlignment = Alignment.MiddleRight;
            title.LabelFontSize = 12;
            for (int c = 0; c < rows[r].Images.Count; c++)
            {
                var (pixels, label, highlight) = rows[r].Images[c];
                int side = (int)Math.Round(Math.Sqrt(pixels.Length));
                var z = new double[side, side];
                for (int i = 0; i < side; i++) for (int j = 0; j < side; j++) z[i, j] = pixels[i * side + j];
                double ox = c * cell;
                var hm = plt.Add.Heatmap(z);
                hm.Colormap = new ScottPlot.Colormaps.Grayscale();
                hm.ManualRange = new ScottPlot.Range(0, 1);
                hm.Position = new CoordinateRect(ox, ox + 1, oy, oy + 1);
                if (highlight)
                {
                    var frame = plt.Add.Rectangle(ox - 0.04, ox + 1.04, oy - 0.04, oy + 1.04);
                    frame.FillStyle.Color = Colors.Transparent;
                    frame.LineStyle.Color = Colors.Red;
                    frame.LineStyle.Width = 3;
                }
                var t = plt.Add.Text(label, ox + 0.5, oy - 0.03);
                t.LabelAlignment = Alignment.UpperCenter;
                t.LabelFontSize = 10;
            }
        }
        plt.Axes.SetLimits(-1.6, columns * cell, -0.35, rows.Count * (cell + 0.25));
        plt.Axes.Frameless();
        plt.HideGrid();
        SetTitle(plt, caption);
        return Save(ctx, plt, fileName, caption, 120 * columns + 220, 150 * rows.Count + 60);
    }

    /// <summary>A bar per model (e.g. accuracy), with an optional dashed reference line (chance level).</summary>
    public static string Bars(SampleContext ctx, string fileName, string caption, IReadOnlyList<string> names, IReadOnlyList<double> values,
        string yLabel, double? reference = null, string? referenceLabel = null)
    {
        var plt = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < names.Count; i++)
            bars.Add(new Bar { Position = i, Value = values[i], FillColor = ColorOf(i), Label = values[i].ToString("0.###") });
        var bp = plt.Add.Bars(bars);
        bp.ValueLabelStyle.FontSize = 12;
        plt.Axes.Bottom.SetTicks(Enumerable.Range(0, names.Count).Select(i => (double)i).ToArray(), names.ToArray());
        plt.Axes.Bottom.TickLabelStyle.Rotation = names.Max(n => n.Length) > 12 ? 20 : 0;
        plt.Axes.Bottom.TickLabelStyle.Alignment = names.Max(n => n.Length) > 12 ? Alignment.MiddleLeft : Alignment.UpperCenter;
        if (reference is { } r)
        {
            var line = plt.Add.HorizontalLine(r, 1.5f, Colors.Gray, LinePattern.Dashed);
            if (referenceLabel != null) line.LegendText = referenceLabel;
            plt.ShowLegend(Alignment.UpperRight);
        }
        plt.Axes.Margins(bottom: 0, top: 0.15);
        plt.YLabel(yLabel);
        SetTitle(plt, caption);
        return Save(ctx, plt, fileName, caption, Math.Max(600, 110 * names.Count), 500);
    }

    /// <summary>(x, y) pairs per series, drawn as lines (e.g. a ROC curve) or as markers; optionally the y = x diagonal.</summary>
    public static string Lines(SampleContext ctx, string fileName, string caption, IReadOnlyList<(string Name, double[] X, double[] Y)> series,
        string xLabel, string yLabel, bool diagonal = false, bool markersOnly = false)
    {
        var plt = new Plot();
        for (int i = 0; i < series.Count; i++)
        {
            var s = plt.Add.Scatter(series[i].X, series[i].Y, ColorOf(i));
            s.LegendText = series[i].Name;
            s.MarkerSize = markersOnly ? 4 : 0;
            s.LineWidth = markersOnly ? 0 : 2;
        }
        if (diagonal)
        {
            var d = plt.Add.Line(0, 0, 1, 1);
            d.LineColor = Colors.Gray;
            d.LinePattern = LinePattern.Dashed;
        }
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        SetTitle(plt, caption);
        plt.ShowLegend(Alignment.LowerRight);
        return Save(ctx, plt, fileName, caption, 700, 600);
    }

    /// <summary>Projects rows onto their two leading principal components (power iteration with deflation; deterministic).</summary>
    public static (double X, double Y)[] Pca2(IReadOnlyList<float[]> rows)
    {
        int n = rows.Count, d = n == 0 ? 0 : rows[0].Length;
        var mean = new double[d];
        foreach (var r in rows) for (int j = 0; j < d; j++) mean[j] += r[j] / (double)n;
        var cov = new double[d, d];
        foreach (var r in rows)
            for (int a = 0; a < d; a++)
            {
                double da = r[a] - mean[a];
                for (int b = a; b < d; b++) cov[a, b] += da * (r[b] - mean[b]);
            }
        for (int a = 0; a < d; a++) for (int b = 0; b < a; b++) cov[a, b] = cov[b, a];
        var components = new List<double[]>();
        for (int k = 0; k < Math.Min(2, d); k++)
        {
            var v = Enumerable.Range(0, d).Select(j => 1.0 + 0.01 * j).ToArray();
            for (int it = 0; it < 200; it++)
            {
                var w = new double[d];
                for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) w[a] += cov[a, b] * v[b];
                foreach (var c in components)
                {
                    double dot = w.Zip(c, (p, q) => p * q).Sum();
                    for (int a = 0; a < d; a++) w[a] -= dot * c[a];
                }
                double norm = Math.Sqrt(w.Sum(x => x * x));
                if (norm < 1e-12) break;
                v = w.Select(x => x / norm).ToArray();
            }
            components.Add(v);
        }
        while (components.Count < 2) components.Add(new double[d]);
        return rows.Select(r =>
        {
            double x = 0, y = 0;
            for (int j = 0; j < d; j++) { x += (r[j] - mean[j]) * components[0][j]; y += (r[j] - mean[j]) * components[1][j]; }
            return (x, y);
        }).ToArray();
    }

    private static void SetTitle(Plot plt, string caption) => plt.Title(caption, caption.Length > 90 ? 10 : caption.Length > 65 ? 12 : 14);

    /// <summary>Saves a ScottPlot <paramref name="plt"/> built by a sample as <paramref name="fileName"/> and announces it.</summary>
    public static string Save(SampleContext ctx, Plot plt, string fileName, string caption, int width, int height)
    {
        var path = ctx.OutputPath(fileName);
        plt.SavePng(path, width, height);
        ctx.SavedPicture(path, caption);
        return path;
    }
}
