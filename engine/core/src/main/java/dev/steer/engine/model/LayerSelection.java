package dev.steer.engine.model;

import dev.steer.engine.BadInputException;

import java.util.TreeSet;

/**
 * A set of layer numbers written as on the command line: {@code all}, a range {@code 0-25}, a list {@code 5,10},
 * or a mix {@code 1-3,7}. Ranges are inclusive; the result is sorted with duplicates dropped.
 */
public final class LayerSelection {
    private LayerSelection() {
    }

    /** @param flag the option named in error messages, e.g. {@code --layers} */
    public static int[] parse(String spec, int numLayers, String flag) {
        if (spec == null || spec.isBlank()) throw new BadInputException(flag + ": empty; expected all, a range like 0-" + (numLayers - 1) + " or a list like 5,10");
        String s = spec.trim();
        TreeSet<Integer> out = new TreeSet<>();
        if (s.equals("all")) {
            for (int l = 0; l < numLayers; l++) out.add(l);
        } else {
            for (String part : s.split(",", -1)) {
                String p = part.trim();
                int dash = p.indexOf('-', 1);
                int from = number(p.substring(0, dash < 0 ? p.length() : dash), spec, flag);
                int to = dash < 0 ? from : number(p.substring(dash + 1), spec, flag);
                if (to < from) throw new BadInputException(flag + " '" + spec + "': range " + p + " runs backwards");
                for (int l = from; l <= to; l++) {
                    if (l < 0 || l >= numLayers)
                        throw new BadInputException(flag + " '" + spec + "': layer " + l + " is out of range; the model has layers 0-" + (numLayers - 1));
                    out.add(l);
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int number(String text, String spec, String flag) {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new BadInputException(flag + " '" + spec + "': '" + text.trim() + "' is not a layer number (expected all, 0-25, 5,10 or 1-3,7)");
        }
    }
}
