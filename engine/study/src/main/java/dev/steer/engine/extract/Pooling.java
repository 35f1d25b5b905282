package dev.steer.engine.extract;

import dev.steer.engine.BadInputException;

import java.util.Locale;

/**
 * Which prompt tokens make one prompt's activation vector: {@link #LAST} the residual at the last prompt token;
 * {@link #MEAN} the mean residual over all the prompt's tokens, BOS included (as the reference fixture's
 * {@code mean_diff.prompt_mean} is computed), padding never.
 */
public enum Pooling {
    LAST, MEAN;

    /** As written on the command line ({@code --pooling}) and in vector metadata (key {@code position}): {@code last}, {@code mean}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Pooling parse(String value, String flag) {
        for (Pooling p : values()) if (p.label().equals(value)) return p;
        throw new BadInputException(flag + ": '" + value + "' is not a position; expected last or mean");
    }
}
