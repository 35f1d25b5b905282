package dev.steer.engine.extract;

import dev.steer.engine.BadInputException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** How a steering direction is extracted from positive and negative activations. */
public enum Method {
    /** mean(positive) − mean(negative): {@link MeanDiff}. */
    MEAN_DIFF,
    /** L2-regularised logistic regression on standardised activations: {@link LogisticProbe}. */
    PROBE;

    /** As written on the command line, in file names and metadata: {@code mean_diff}, {@code probe}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** A comma-separated list ({@code mean_diff,probe}); duplicates are dropped, order kept. */
    public static List<Method> parseList(String value, String flag) {
        List<Method> out = new ArrayList<>();
        for (String part : value.split(",", -1)) {
            String p = part.trim();
            Method m = null;
            for (Method x : values()) if (x.label().equals(p)) m = x;
            if (m == null) throw new BadInputException(flag + ": '" + p + "' is not a method; expected mean_diff, probe or both (mean_diff,probe)");
            if (!out.contains(m)) out.add(m);
        }
        return out;
    }
}
