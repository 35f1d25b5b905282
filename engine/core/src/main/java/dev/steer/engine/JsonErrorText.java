package dev.steer.engine;

import java.util.regex.Pattern;

/**
 * Gson's parse errors in words for a user: gson writes advice to the programmer into its messages ("Use
 * JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON", a troubleshooting link, the exception
 * class, a JSON path); this keeps the reason and the line and column. Plain text in and out, so every module that
 * parses JSON with gson, and the CLI's last line of defence, can use it without core depending on gson.
 */
public final class JsonErrorText {
    private static final Pattern ADVICE = Pattern.compile(
            "Use JsonReader\\.set(?:Strictness\\(Strictness\\.LENIENT\\)|Lenient\\(true\\)) to accept malformed JSON");
    private static final Pattern LINK = Pattern.compile("\\s*See https://github\\.com/google/gson/\\S*");
    private static final Pattern CLASS = Pattern.compile("(?:com\\.google\\.gson\\.[\\w.]*(?:Exception|Error)|java\\.io\\.EOFException): ");
    private static final Pattern PATH = Pattern.compile(" path \\$\\S*");

    /** What gson's lenient-only advice means to someone who wrote the file. */
    static final String LENIENT_ONLY = "not standard JSON (text after the value, comments, single quotes or unquoted text)";

    private JsonErrorText() {
    }

    /** {@code message} without gson's advice, links, class names and paths; null stays null. */
    public static String clean(String message) {
        if (message == null) return null;
        String m = ADVICE.matcher(message).replaceAll(LENIENT_ONLY);
        m = LINK.matcher(m).replaceAll("");
        m = CLASS.matcher(m).replaceAll("");
        m = PATH.matcher(m).replaceAll("");
        return m.strip();
    }

    /** The cleaned message of a gson exception (its cause's when it only wraps one). */
    public static String of(Throwable gsonError) {
        Throwable t = gsonError.getCause() != null && gsonError.getCause().getMessage() != null ? gsonError.getCause() : gsonError;
        String m = clean(t.getMessage());
        return m == null || m.isEmpty() ? "malformed JSON" : m;
    }
}
