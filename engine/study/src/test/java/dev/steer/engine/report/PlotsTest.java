package dev.steer.engine.report;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlotsTest {
    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    @TempDir
    Path tmp;

    @Test
    void writesPooledAndPerTraitSetsInEveryFormatReadableByOthers() throws Exception {
        List<RunPoint> ps = new ArrayList<>(SyntheticRuns.designShaped());
        ps.addAll(SyntheticRuns.twoTraitsTwoLayers());
        Path dir = tmp.resolve("plots/nested");
        List<Path> written = Plots.write(dir, ps);
        // pooled + refusal, A, B: 4 sets x 3 charts x 3 formats.
        assertEquals(36, written.size());
        assertEquals(dir.resolve("ratio_vs_coherence.png"), written.get(0));
        assertEquals(dir.resolve("ratio_vs_coherence.svg"), written.get(1));
        assertEquals(dir.resolve("ratio_vs_coherence.pdf"), written.get(2));
        assertTrue(written.contains(dir.resolve("A/coherence_by_bucket.pdf")));
        assertTrue(written.contains(dir.resolve("refusal/ratio_vs_delta.svg")));
        Path reference = Files.createFile(tmp.resolve("reference"));
        Set<PosixFilePermission> umaskMode = Files.getPosixFilePermissions(reference);
        for (Path f : written) {
            byte[] bytes = Files.readAllBytes(f);
            String name = f.getFileName().toString();
            if (name.endsWith(".png")) {
                assertArrayEquals(PNG_MAGIC, Arrays.copyOf(bytes, 8), f + " is a PNG");
                // IHDR: width and height, big-endian, at bytes 16-23: twice the 900 x 600 layout.
                assertEquals(1800, readInt(bytes, 16), f + " width");
                assertEquals(1200, readInt(bytes, 20), f + " height");
                assertTrue(bytes.length > 20_000, f + " has content: " + bytes.length + " bytes");
            } else if (name.endsWith(".svg")) {
                String svg = new String(bytes, StandardCharsets.UTF_8);
                assertTrue(svg.contains("<svg") && svg.contains("</svg>"), f + " is an SVG");
                assertTrue(svg.contains("<path") || svg.contains("<line") || svg.contains("<rect"), f + " draws");
            } else {
                assertEquals("%PDF", new String(bytes, 0, 4, StandardCharsets.US_ASCII), f + " is a PDF");
            }
            // Files.createTempFile would give 0600; outputs take the mode any new file gets (the umask's).
            assertEquals(umaskMode, Files.getPosixFilePermissions(f), f + " mode");
        }
        assertTrue(umaskMode.contains(PosixFilePermission.OWNER_READ));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(9 + 3, files.count(), "9 pooled files, 3 trait directories, no temporary files left");
        }
    }

    @Test
    void scatterDrawsLayersAsSeriesThresholdLineAndCliffMarker() {
        List<RunPoint> ps = SyntheticRuns.twoTraitsTwoLayers().stream().filter(p -> p.trait().equals("A")).toList();
        PlotOptions o = new PlotOptions(new ReportSettings(65, RatioBuckets.SEED), false, EnumSet.of(PlotOptions.Format.PNG));
        Map<String, Chart<?, ?>> charts = Plots.charts("A", ps, o);
        XYChart coh = (XYChart) charts.get(Plots.RATIO_VS_COHERENCE);
        Map<String, XYSeries> series = coh.getSeriesMap();
        assertEquals(List.of("layer 6", "layer 12", "coherence threshold 65", "cliff 0.900"), List.copyOf(series.keySet()));
        // Layer 6 holds ratios 0.1..1.0 with their coherences; layer 12 ratios 0.1..1.5.
        assertArrayEquals(new double[] {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}, series.get("layer 6").getXData(), 1e-12);
        assertEquals(90, series.get("layer 6").getYData()[0], 0);
        assertEquals(30, series.get("layer 6").getYData()[9], 0);
        assertEquals(15, series.get("layer 12").getXData().length);
        assertFalse(series.get("layer 6").getMarkerColor().equals(series.get("layer 12").getMarkerColor()), "colour by layer");
        XYSeries threshold = series.get("coherence threshold 65");
        assertEquals(XYSeries.XYSeriesRenderStyle.Line, threshold.getXYSeriesRenderStyle());
        assertArrayEquals(new double[] {65, 65}, threshold.getYData(), 0);
        assertArrayEquals(new double[] {0, 1.5}, threshold.getXData(), 1e-12);
        XYSeries cliff = series.get("cliff 0.900");
        assertArrayEquals(new double[] {0.9, 0.9}, cliff.getXData(), 0);
        assertArrayEquals(new double[] {0, 100}, cliff.getYData(), 0);
        assertFalse(coh.getStyler().isXAxisLogarithmic());

        CategoryChart bucket = (CategoryChart) charts.get(Plots.COHERENCE_BY_BUCKET);
        assertNotNull(bucket.getSeriesMap().get("coherence threshold 65"));
        assertEquals(List.of(65.0, 65.0, 65.0, 65.0, 65.0, 65.0),
                bucket.getSeriesMap().get("coherence threshold 65").getYData().stream().map(Number::doubleValue).toList());
    }

    @Test
    void logXDropsZeroRatiosAndSpansTheThresholdOverTheShownRuns() {
        List<RunPoint> ps = new ArrayList<>(SyntheticRuns.twoTraitsTwoLayers());
        ps.add(SyntheticRuns.point("A", 6, 0.0, 95, 0));
        PlotOptions o = new PlotOptions(ReportSettings.DEFAULT, true, EnumSet.of(PlotOptions.Format.SVG));
        XYChart coh = (XYChart) Plots.charts("all", ps, o).get(Plots.RATIO_VS_COHERENCE);
        assertTrue(coh.getStyler().isXAxisLogarithmic());
        assertEquals(10 + 6, coh.getSeriesMap().get("layer 6").getXData().length, "the ratio-0 run is left out");
        assertArrayEquals(new double[] {0.1 / 1.05, 2.5 * 1.05}, coh.getSeriesMap().get("coherence threshold 70").getXData(), 1e-12);
    }

    private static int readInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }

    @Test
    void nothingToPlotOrAFileInTheWayIsBadInput() throws Exception {
        BadInputException none = assertThrows(BadInputException.class, () -> Plots.write(tmp.resolve("p"), List.of()));
        assertTrue(none.getMessage().contains("--plot") && none.getMessage().contains("no steered runs"), none.getMessage());
        Path file = Files.writeString(tmp.resolve("taken"), "x");
        BadInputException taken = assertThrows(BadInputException.class,
                () -> Plots.write(file, SyntheticRuns.designShaped()));
        assertTrue(taken.getMessage().contains("taken") && taken.getMessage().contains("not a directory"), taken.getMessage());
    }
}
