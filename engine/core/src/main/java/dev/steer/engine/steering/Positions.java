package dev.steer.engine.steering;

import dev.steer.engine.BadInputException;

/** Which token positions a steering spec adds to. BOS counts as a prompt position (the fixture's convention). */
public enum Positions {
    /** Every position, prompt and generated: common practice, and the default. */
    ALL,
    /** Prompt tokens only. */
    PROMPT,
    /** Generated tokens only (as they are fed back). */
    RESPONSE;

    public boolean includesPrompt() {
        return this != RESPONSE;
    }

    public boolean includesResponse() {
        return this != PROMPT;
    }

    public String cliName() {
        return name().toLowerCase();
    }

    public static Positions parse(String s, String flag) {
        for (Positions p : values()) if (p.cliName().equals(s)) return p;
        throw new BadInputException(flag + ": '" + s + "' is not one of all, prompt, response");
    }
}
