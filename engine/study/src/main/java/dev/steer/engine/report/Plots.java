package dev.steer.engine.report;

import dev.steer.engine.BadInputException;
import dev.steer.engine.store.AtomicFile;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * {@code steer report --plot DIR}: PNG charts of the ratio law, rendered headless with XChart, each written
 * atomically: {@value #RATIO_VS_COHERENCE} and {@value #RATIO_VS_DELTA} (one scatter series per trait, so colour
 * is trait), and {@value #COHERENCE_BY_BUCKET} (mean coherence per ratio bucket, error bars = sample standard
 * deviation, empty buckets left out).
 */
public final class Plots {
    public static final String RATIO_VS_COHERENCE = "ratio_vs_coherence.png";
    public static final String RATIO_VS_DELTA = "ratio_vs_delta.png";
    public static final String COHERENCE_BY_BUCKET = "coherence_by_bucket.png";
    private static final int WIDTH = 900;
    private static final int HEIGHT = 600;

    static {
        // No display on a GPU box or CI; AWT must not try to open one. Only effective before AWT first loads.
        System.setProperty("java.awt.headless", "true");
    }

    private Plots() {
    }

    /**
     * Writes the three charts into {@code dir}, creating it if needed.
     *
     * @return the files written
     * @throws BadInputException when there are no runs to plot or {@code dir} is not a directory
     */
    public static List<Path> write(Path dir, List<RunPoint> points) {
        if (points.isEmpty()) throw new BadInputException("--plot " + dir + ": no steered runs with a ratio to plot");
        if (Files.exists(dir) && !Files.isDirectory(dir))
            throw new BadInputException("--plot " + dir + ": exists and is not a directory");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new BadInputException("--plot " + dir + ": cannot create directory (" + e.getMessage() + ")", e);
        }
        List<Path> written = new ArrayList<>();
        XYChart coherence = scatter(points, "Perturbation ratio vs coherence", "coherence (0-100)", RunPoint::coherence);
        coherence.getStyler().setYAxisMin(0.0);
        coherence.getStyler().setYAxisMax(100.0);
        written.add(png(dir.resolve(RATIO_VS_COHERENCE), coherence));
        written.add(png(dir.resolve(RATIO_VS_DELTA),
                scatter(points, "Perturbation ratio vs trait delta", "trait delta (vs baseline)", RunPoint::delta)));
        written.add(png(dir.resolve(COHERENCE_BY_BUCKET), byBucket(points)));
        return written;
    }

    private static XYChart scatter(List<RunPoint> points, String title, String yTitle, ToDoubleFunction<RunPoint> y) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("ratio = |coef|·‖v‖/‖h‖").yAxisTitle(yTitle).build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(7);
        Map<String, List<RunPoint>> byTrait = new TreeMap<>();
        for (RunPoint p : points) byTrait.computeIfAbsent(p.trait(), k -> new ArrayList<>()).add(p);
        byTrait.forEach((trait, ps) -> chart.addSeries(trait,
                ps.stream().mapToDouble(RunPoint::ratio).toArray(), ps.stream().mapToDouble(y).toArray()));
        return chart;
    }

    private static CategoryChart byBucket(List<RunPoint> points) {
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
                .title("Coherence by ratio bucket (mean ± sd)").xAxisTitle("ratio bucket")
                .yAxisTitle("coherence (0-100)").build();
        List<String> labels = new ArrayList<>();
        List<Double> means = new ArrayList<>();
        List<Double> sds = new ArrayList<>();
        for (BucketStats b : BucketStats.table(points)) {
            if (b.count() == 0) continue;
            labels.add(b.bucket().label() + " (n=" + b.count() + ")");
            means.add(b.avgCoherence());
            sds.add(b.sdCoherence());
        }
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setErrorBarsColorSeriesColor(true);
        chart.addSeries("coherence", labels, means, sds).setMarker(SeriesMarkers.NONE);
        return chart;
    }

    private static Path png(Path file, Chart<?, ?> chart) {
        try {
            AtomicFile.write(file, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": rendering PNG failed: " + e.getMessage(), e);
        }
        return file;
    }
}
