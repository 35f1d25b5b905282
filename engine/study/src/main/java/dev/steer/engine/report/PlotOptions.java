package dev.steer.engine.report;

import dev.steer.engine.BadInputException;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * How {@link Plots} draws: the report's settings (the threshold line sits at its coherence threshold, the bucket
 * chart uses its buckets), a logarithmic ratio axis or not, and which file formats to write.
 */
public record PlotOptions(ReportSettings settings, boolean logX, Set<Format> formats) {
    /** A figure format: PNG for screens, SVG and PDF (vector) for papers. */
    public enum Format {
        PNG, SVG, PDF;

        public String extension() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final PlotOptions DEFAULT = new PlotOptions(ReportSettings.DEFAULT, false, EnumSet.allOf(Format.class));

    public PlotOptions {
        if (formats.isEmpty()) throw new IllegalArgumentException("no figure format");
        formats = Set.copyOf(formats);
    }

    /** {@code --plot-format png,svg,pdf}: formats as the flag takes them. */
    public static Set<Format> parseFormats(String text, String flag) {
        Set<Format> out = EnumSet.noneOf(Format.class);
        for (String p : text.split(",", -1)) {
            String t = p.trim().toUpperCase(Locale.ROOT);
            try {
                out.add(Format.valueOf(t));
            } catch (IllegalArgumentException e) {
                throw new BadInputException(flag + " " + text + ": '" + p.trim() + "' is not one of png, svg, pdf");
            }
        }
        return out;
    }
}
