package dev.steer.engine.trait;

import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.io.StringReader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses user-written JSON strictly (no comments, unquoted names or trailing text, which lenient gson would accept
 * and silently misread) and turns gson's multi-line syntax errors into one line naming the file and position.
 */
final class StrictJson {
    private static final Pattern POSITION = Pattern.compile("^(.*?) at line (\\d+) column (\\d+)");

    private static final String LENIENT_ONLY =
            "not standard JSON (comments, single quotes, unquoted text and text after the value are not allowed)";

    private StrictJson() {
    }

    /** @param source the file (or bundled resource) the text came from, used as the message prefix */
    static JsonElement parse(String text, String source) {
        JsonReader reader = new JsonReader(new StringReader(text));
        reader.setStrictness(Strictness.STRICT);
        try {
            JsonElement root = JsonParser.parseReader(reader);
            if (root == null || root instanceof JsonNull && text.isBlank())
                throw new BadInputException(source + ": the file is empty");
            // In strict mode peek() throws on anything after the value, so a second value or stray text is reported.
            if (reader.peek() != JsonToken.END_DOCUMENT)
                throw new BadInputException(source + ": invalid JSON: unexpected text after the JSON value");
            return root;
        } catch (JsonParseException | IOException e) {
            throw new BadInputException(source + ": invalid JSON" + describe(e), e);
        }
    }

    /** gson's message is "REASON at line L column C path P\nSee https://..."; keep reason and position only. */
    private static String describe(Exception e) {
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        String message = cause.getMessage() == null ? "" : cause.getMessage().lines().findFirst().orElse("");
        Matcher m = POSITION.matcher(message);
        if (m.find()) {
            // gson's reason for anything only lenient mode accepts is advice to the programmer; say what it means.
            String reason = m.group(1).startsWith("Use JsonReader.setStrictness") ? LENIENT_ONLY : m.group(1);
            if (reason.startsWith("Unterminated object") || reason.startsWith("Unterminated array"))
                reason += " (a missing comma or closing bracket?)";
            else if (reason.equals("Expected name"))
                reason += " (a trailing comma?)";
            return " at line " + m.group(2) + " column " + m.group(3) + ": " + reason;
        }
        return message.isEmpty() ? "" : ": " + message;
    }
}
