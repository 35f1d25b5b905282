package dev.steer.cli;

import dev.steer.engine.report.PlotOptions;
import dev.steer.engine.report.RatioBuckets;
import dev.steer.engine.report.ReportSettings;
import picocli.CommandLine.Option;

/**
 * How the law's report reads runs and draws them, shared by {@code report} and {@code study}: what counts as
 * coherent, the ratio buckets, and the figures' axis and formats.
 */
final class ReportOptions {
    @Option(names = "--coherence-threshold", defaultValue = "70", paramLabel = "T",
            description = "A run (and a search step) is coherent when its mean coherence is at least T (0-100). Default: ${DEFAULT-VALUE}.")
    double threshold;

    @Option(names = "--buckets", defaultValue = "0.3,0.5,0.8,1.0,1.3", paramLabel = "EDGES",
            description = "Ratio bucket edges after 0, ascending: 0.3,0.5 gives 0.0-0.3, 0.3-0.5, 0.5+. Default: ${DEFAULT-VALUE} (the seed's).")
    String buckets;

    @Option(names = "--log-x", description = "Draw the ratio axis on a log scale (runs at ratio 0 are left out of the scatter charts).")
    boolean logX;

    @Option(names = "--plot-format", defaultValue = "png,svg,pdf", paramLabel = "F,...",
            description = "Figure formats: png, svg, pdf. Default: ${DEFAULT-VALUE}.")
    String plotFormats;

    ReportSettings settings() {
        return new ReportSettings(threshold, RatioBuckets.parse(buckets, "--buckets"));
    }

    PlotOptions plotOptions(ReportSettings settings) {
        return new PlotOptions(settings, logX, PlotOptions.parseFormats(plotFormats, "--plot-format"));
    }
}
