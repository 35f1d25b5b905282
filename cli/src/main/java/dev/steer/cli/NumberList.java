package dev.steer.cli;

import dev.steer.engine.BadInputException;

import java.util.ArrayList;
import java.util.List;

/** Comma-separated lists of numbers as flags take them ({@code --coefs 2,-4,8}, {@code --ratios 0.5,1}). */
final class NumberList {
    private NumberList() {
    }

    static List<Double> doubles(String value, String flag) {
        List<Double> out = new ArrayList<>();
        for (String part : split(value, flag)) {
            double d;
            try {
                d = Double.parseDouble(part);
            } catch (NumberFormatException e) {
                throw new BadInputException(flag + " '" + value + "': '" + part + "' is not a number");
            }
            if (!Double.isFinite(d)) throw new BadInputException(flag + " '" + value + "': '" + part + "' is not finite");
            out.add(d);
        }
        return out;
    }

    private static List<String> split(String value, String flag) {
        if (value == null || value.isBlank()) throw new BadInputException(flag + ": empty list; expected numbers separated by commas");
        List<String> parts = new ArrayList<>();
        for (String p : value.split(",", -1)) {
            String t = p.strip();
            if (t.isEmpty()) throw new BadInputException(flag + " '" + value + "': empty entry; expected numbers separated by commas");
            parts.add(t);
        }
        return parts;
    }
}
