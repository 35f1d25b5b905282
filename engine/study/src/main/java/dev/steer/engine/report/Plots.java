package dev.steer.engine.report;

import dev.steer.engine.BadInputException;
import dev.steer.engine.store.AtomicFile;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * {@code steer report --plot DIR} and {@code steer study}'s figures: the ratio law drawn, rendered headless with
 * XChart. One set for all runs pooled, in DIR itself, and one per trait in DIR/{trait}/; each set is
 * {@value #RATIO_VS_COHERENCE}, {@value #RATIO_VS_DELTA} and {@value #COHERENCE_BY_BUCKET}, each in every format of
 * the {@link PlotOptions} (PNG at twice the nominal size, SVG and PDF as vector graphics), each file written atomically.
 *
 * <p>The scatter charts colour points by layer (one series per layer, per method when there are several: the
 * marker's shape is the method), draw the coherence threshold as a dashed
 * horizontal line and the set's cliff ({@link Cliff}) as a vertical line; the bucket chart draws mean coherence per
 * ratio bucket with the sample sd as error bars, empty buckets left out, and the threshold as a line. With log-x
 * the ratio axis is logarithmic and runs at ratio 0 are left out (a log axis has no 0).
 */
public final class Plots {
    public static final String RATIO_VS_COHERENCE = "ratio_vs_coherence";
    public static final String RATIO_VS_DELTA = "ratio_vs_delta";
    public static final String COHERENCE_BY_BUCKET = "coherence_by_bucket";
    /** Series names other than the per-layer ones, so readers of a chart (tests included) find them. */
    public static final String THRESHOLD_SERIES = "coherence threshold";
    public static final String CLIFF_SERIES = "cliff";
    public static final String ZERO_SERIES = "no change";
    static final int WIDTH = 900;
    static final int HEIGHT = 600;
    /** PNG pixels per chart unit: 1800 × 1200 pixels, sharp in print at a column's width. */
    static final int PNG_SCALE = 2;

    /** Okabe & Ito's colour-blind-safe palette (black left for the cliff), for up to seven layers. */
    private static final Color[] DISTINCT = {new Color(0x0072B2), new Color(0xE69F00), new Color(0x009E73),
            new Color(0xCC79A7), new Color(0x56B4E9), new Color(0xD55E00), new Color(0xF0E442)};
    /** Viridis at 8 stops, interpolated: more layers than distinct colours read best as a depth gradient. */
    private static final Color[] VIRIDIS = {new Color(0x440154), new Color(0x46327E), new Color(0x365C8D),
            new Color(0x277F8E), new Color(0x1FA187), new Color(0x4AC16D), new Color(0x9FDA3A), new Color(0xFDE725)};
    private static final org.knowm.xchart.style.markers.Marker[] MARKERS = {SeriesMarkers.CIRCLE, SeriesMarkers.TRIANGLE_UP,
            SeriesMarkers.DIAMOND, SeriesMarkers.SQUARE};
    private static final Color THRESHOLD_COLOR = new Color(0x666666);
    private static final Color CLIFF_COLOR = Color.BLACK;
    private static final BasicStroke DASHED = new BasicStroke(1.6f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
            new float[] {7f, 5f}, 0f);

    static {
        // No display on a GPU box or CI; AWT must not try to open one. Only effective before AWT first loads.
        System.setProperty("java.awt.headless", "true");
    }

    private Plots() {
    }

    /** Writes every set with {@link PlotOptions#DEFAULT} (threshold 70, seed buckets, linear x, PNG + SVG + PDF). */
    public static List<Path> write(Path dir, List<RunPoint> points) {
        return write(dir, points, PlotOptions.DEFAULT);
    }

    /**
     * Writes the pooled set into {@code dir} and one set per trait into {@code dir/{trait}}, creating them if needed.
     *
     * @return the files written, pooled set first, each chart's formats together
     * @throws BadInputException when there are no runs to plot or {@code dir} is not a directory
     */
    public static List<Path> write(Path dir, List<RunPoint> points, PlotOptions o) {
        if (points.isEmpty()) throw new BadInputException("--plot " + dir + ": no steered runs with a ratio to plot");
        if (Files.exists(dir) && !Files.isDirectory(dir))
            throw new BadInputException("--plot " + dir + ": exists and is not a directory");
        List<Path> written = new ArrayList<>();
        written.addAll(writeSet(dir, "all runs", points, o));
        Map<String, List<RunPoint>> byTrait = new TreeMap<>();
        for (RunPoint p : points) byTrait.computeIfAbsent(p.trait(), k -> new ArrayList<>()).add(p);
        for (var e : byTrait.entrySet()) written.addAll(writeSet(dir.resolve(directoryName(e.getKey())), e.getKey(), e.getValue(), o));
        return written;
    }

    /** A trait's figure directory name: the name with anything but letters, digits, '-' and '_' replaced by '_'. */
    public static String directoryName(String trait) {
        String s = trait.replaceAll("[^A-Za-z0-9_-]", "_");
        return s.isEmpty() || s.startsWith("-") ? "_" + s : s;
    }

    private static List<Path> writeSet(Path dir, String title, List<RunPoint> points, PlotOptions o) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new BadInputException("--plot " + dir + ": cannot create directory (" + e.getMessage() + ")", e);
        }
        List<Path> out = new ArrayList<>();
        for (var e : charts(title, points, o).entrySet())
            for (PlotOptions.Format f : PlotOptions.Format.values())
                if (o.formats().contains(f)) out.add(save(dir.resolve(e.getKey() + "." + f.extension()), e.getValue(), f));
        return out;
    }

    /** The three charts of one set of runs, by file stem, as they are drawn (tests read their series). */
    public static Map<String, Chart<?, ?>> charts(String title, List<RunPoint> points, PlotOptions o) {
        List<RunPoint> shown = o.logX() ? points.stream().filter(p -> p.ratio() > 0).toList() : points;
        Optional<Cliff> cliff = Cliff.find(points);
        Map<String, Chart<?, ?>> out = new LinkedHashMap<>();
        XYChart coherence = scatter(title + ": perturbation ratio vs coherence", "coherence (0-100)", shown, RunPoint::coherence, o);
        coherence.getStyler().setYAxisMin(0.0);
        coherence.getStyler().setYAxisMax(100.0);
        horizontal(coherence, THRESHOLD_SERIES + " " + fmt("%.0f", o.settings().coherenceThreshold()), shown,
                o.settings().coherenceThreshold(), THRESHOLD_COLOR);
        cliff.ifPresent(c -> vertical(coherence, c, 0, 100));
        out.put(RATIO_VS_COHERENCE, coherence);

        XYChart delta = scatter(title + ": perturbation ratio vs trait delta", "trait delta vs baseline", shown, RunPoint::delta, o);
        horizontal(delta, ZERO_SERIES, shown, 0, THRESHOLD_COLOR);
        double lo = Math.min(0, shown.stream().mapToDouble(RunPoint::delta).min().orElse(0));
        double hi = Math.max(0, shown.stream().mapToDouble(RunPoint::delta).max().orElse(0));
        cliff.ifPresent(c -> vertical(delta, c, lo, hi));
        out.put(RATIO_VS_DELTA, delta);

        out.put(COHERENCE_BY_BUCKET, byBucket(title, points, o.settings()));
        return out;
    }

    private static XYChart scatter(String title, String yTitle, List<RunPoint> points, ToDoubleFunction<RunPoint> y, PlotOptions o) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("perturbation ratio |coef|·‖v‖/‖h‖" + (o.logX() ? " (log scale)" : "")).yAxisTitle(yTitle).build();
        style(chart.getStyler());
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(8);
        chart.getStyler().setXAxisLogarithmic(o.logX());
        // Ratios span about one decade: labels at 0.1, 1 alone would leave the axis unreadable.
        if (o.logX()) chart.getStyler().setXAxisLogarithmicDecadeOnly(false);
        if (!o.logX()) chart.getStyler().setXAxisMin(0.0);
        // Colour is layer; with several methods (mean_diff and probe) the marker shape tells them apart.
        Map<Integer, Map<String, List<RunPoint>>> byLayer = new TreeMap<>();
        List<String> methods = points.stream().map(p -> String.valueOf(p.method())).distinct().sorted().toList();
        for (RunPoint p : points)
            byLayer.computeIfAbsent(p.layer(), k -> new TreeMap<>()).computeIfAbsent(String.valueOf(p.method()), k -> new ArrayList<>()).add(p);
        int i = 0;
        for (var layer : byLayer.entrySet()) {
            Color colour = layerColor(i++, byLayer.size());
            for (var m : layer.getValue().entrySet()) {
                String name = "layer " + layer.getKey() + (methods.size() > 1 ? ", " + m.getKey() : "");
                XYSeries s = chart.addSeries(name, m.getValue().stream().mapToDouble(RunPoint::ratio).toArray(),
                        m.getValue().stream().mapToDouble(y).toArray());
                s.setMarker(MARKERS[methods.indexOf(m.getKey()) % MARKERS.length]);
                s.setMarkerColor(colour);
            }
        }
        return chart;
    }

    private static void horizontal(XYChart chart, String name, List<RunPoint> points, double y, Color color) {
        double lo = points.stream().mapToDouble(RunPoint::ratio).min().orElse(0);
        double hi = points.stream().mapToDouble(RunPoint::ratio).max().orElse(1);
        if (chart.getStyler().isXAxisLogarithmic()) {
            lo /= 1.05;
            hi *= 1.05;
        } else {
            lo = 0;
        }
        line(chart, name, new double[] {lo, hi}, new double[] {y, y}, color, DASHED);
    }

    private static void vertical(XYChart chart, Cliff c, double lo, double hi) {
        line(chart, CLIFF_SERIES + " " + fmt("%.3f", c.ratio()), new double[] {c.ratio(), c.ratio()}, new double[] {lo, hi},
                CLIFF_COLOR, new BasicStroke(2f));
    }

    private static void line(XYChart chart, String name, double[] x, double[] y, Color color, BasicStroke stroke) {
        XYSeries s = chart.addSeries(name, x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(color);
        s.setLineStyle(stroke);
    }

    private static CategoryChart byBucket(String title, List<RunPoint> points, ReportSettings settings) {
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
                .title(title + ": coherence by ratio bucket (mean ± sd)").xAxisTitle("perturbation ratio bucket (runs)")
                .yAxisTitle("coherence (0-100)").build();
        style(chart.getStyler());
        List<String> labels = new ArrayList<>();
        List<Double> means = new ArrayList<>();
        List<Double> sds = new ArrayList<>();
        for (BucketStats b : BucketStats.table(points, settings)) {
            if (b.count() == 0) continue;
            labels.add(b.bucket().label() + " (" + b.count() + ")");
            means.add(b.avgCoherence());
            sds.add(b.sdCoherence());
        }
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(100.0);
        chart.getStyler().setErrorBarsColorSeriesColor(false);
        chart.getStyler().setErrorBarsColor(Color.DARK_GRAY);
        chart.getStyler().setOverlapped(true);
        chart.getStyler().setAvailableSpaceFill(0.62);
        CategorySeries bars = chart.addSeries("mean coherence", labels, means, sds);
        bars.setMarker(SeriesMarkers.NONE);
        bars.setFillColor(DISTINCT[0]);
        List<Double> threshold = labels.stream().map(l -> settings.coherenceThreshold()).toList();
        CategorySeries t = chart.addSeries(THRESHOLD_SERIES + " " + fmt("%.0f", settings.coherenceThreshold()), labels, threshold);
        t.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        t.setMarker(SeriesMarkers.NONE);
        t.setLineColor(THRESHOLD_COLOR);
        t.setLineStyle(DASHED);
        return chart;
    }

    /** One look for every chart: white, light grid, no frame, legend outside on the right, readable type. */
    private static void style(AxesChartStyler s) {
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotBorderVisible(false);
        s.setPlotGridLinesColor(new Color(0xE3E3E3));
        s.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 17));
        s.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
        s.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        s.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setLegendBorderColor(Color.WHITE);
        s.setChartTitleBoxVisible(false);
        s.setAntiAlias(true);
        s.setChartPadding(14);
        s.setPlotContentSize(0.94);
    }

    private static Color layerColor(int i, int n) {
        if (n <= DISTINCT.length) return DISTINCT[i];
        double t = n == 1 ? 0 : (double) i / (n - 1) * (VIRIDIS.length - 1);
        int k = Math.min((int) t, VIRIDIS.length - 2);
        double f = t - k;
        Color a = VIRIDIS[k], b = VIRIDIS[k + 1];
        return new Color((int) Math.round(a.getRed() + f * (b.getRed() - a.getRed())),
                (int) Math.round(a.getGreen() + f * (b.getGreen() - a.getGreen())),
                (int) Math.round(a.getBlue() + f * (b.getBlue() - a.getBlue())));
    }

    private static Path save(Path file, Chart<?, ?> chart, PlotOptions.Format f) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            switch (f) {
                case PNG -> ImageIO.write(render(chart), "png", bytes);
                case SVG -> VectorGraphicsEncoder.saveVectorGraphic(chart, bytes, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
                case PDF -> VectorGraphicsEncoder.saveVectorGraphic(chart, bytes, VectorGraphicsEncoder.VectorGraphicsFormat.PDF);
            }
            AtomicFile.write(file, bytes.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": rendering " + f + " failed: " + e.getMessage(), e);
        }
        return file;
    }

    /** The chart painted at {@link #PNG_SCALE}: the same layout as the vector files, at print resolution. */
    private static BufferedImage render(Chart<?, ?> chart) {
        BufferedImage img = new BufferedImage(chart.getWidth() * PNG_SCALE, chart.getHeight() * PNG_SCALE, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.scale(PNG_SCALE, PNG_SCALE);
            chart.paint(g, chart.getWidth(), chart.getHeight());
        } finally {
            g.dispose();
        }
        return img;
    }

    private static String fmt(String f, Object... args) {
        return String.format(Locale.ROOT, f, args);
    }
}
