package dev.steer.engine.search;

import dev.steer.engine.BadInputException;

/** Which way a search pushes the trait: positive adds it (coef &gt; 0), negative suppresses it (coef &lt; 0). */
public enum Direction {
    POSITIVE(1),
    NEGATIVE(-1);

    private final int sign;

    Direction(int sign) {
        this.sign = sign;
    }

    /** +1 or −1: the sign every coef of the search carries. */
    public int sign() {
        return sign;
    }

    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Direction parse(String s, String flag) {
        for (Direction d : values()) if (d.cliName().equals(s)) return d;
        throw new BadInputException(flag + ": '" + s + "' is not one of positive, negative");
    }
}
