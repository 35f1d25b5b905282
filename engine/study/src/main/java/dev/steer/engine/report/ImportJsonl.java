package dev.steer.engine.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.steer.engine.BadInputException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code steer report --import runs.jsonl}: runs made by another tool (or {@code steer export}), one JSON object a
 * line, with at least trait (string), layer (integer), method (string), coef, vector_norm, activation_norm
 * (&gt; 0), coherence_mean, trait_mean, baseline_trait_mean (scores in 0..100). Ratio and delta are computed here
 * ({@link RunPoint#of}), never read, so every source follows one convention. Other fields are ignored. Blank lines
 * are skipped, and so are lines whose "kind" is "baseline" (unsteered runs, as {@code steer export} writes them).
 */
public final class ImportJsonl {
    private ImportJsonl() {
    }

    /** @throws BadInputException naming the file, the line number and the field at fault */
    public static List<RunPoint> read(Path file) {
        List<RunPoint> points = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) continue;
                JsonObject o = object(file, lineNo, line);
                JsonElement kind = o.get("kind");
                if (kind != null && kind.isJsonPrimitive() && "baseline".equals(kind.getAsString())) continue;
                Fields f = new Fields(file, lineNo, o);
                double activationNorm = f.number("activation_norm");
                if (!(activationNorm > 0))
                    throw f.bad("activation_norm", "must be > 0, got " + activationNorm);
                points.add(RunPoint.of(f.string("trait"), f.integer("layer"), f.string("method"), f.number("coef"),
                        f.number("vector_norm"), activationNorm, f.score("coherence_mean"), f.score("trait_mean"),
                        f.score("baseline_trait_mean")));
            }
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new BadInputException(file + ": is not UTF-8 text", e);
        } catch (IOException e) {
            // A directory, a file this user may not read: the user's input, not an internal error.
            throw new BadInputException(file + ": cannot be read (" + e.getMessage() + ")", e);
        }
        return points;
    }

    private static JsonObject object(Path file, int lineNo, String line) {
        JsonElement e;
        try {
            e = JsonParser.parseString(line);
        } catch (JsonParseException ex) {
            throw new BadInputException(file + ":" + lineNo + ": not valid JSON");
        }
        if (!e.isJsonObject()) throw new BadInputException(file + ":" + lineNo + ": expected a JSON object");
        return e.getAsJsonObject();
    }

    /** Typed access to one line's fields, with errors that say where. */
    private record Fields(Path file, int lineNo, JsonObject o) {
        BadInputException bad(String field, String what) {
            return new BadInputException(file + ":" + lineNo + ": field '" + field + "' " + what);
        }

        JsonPrimitive primitive(String field) {
            JsonElement e = o.get(field);
            if (e == null || e.isJsonNull()) throw bad(field, "is missing");
            if (!e.isJsonPrimitive()) throw bad(field, "must be a string or number, got " + e);
            return e.getAsJsonPrimitive();
        }

        String string(String field) {
            JsonPrimitive p = primitive(field);
            if (!p.isString() || p.getAsString().isBlank()) throw bad(field, "must be a non-empty string");
            return p.getAsString();
        }

        double number(String field) {
            JsonPrimitive p = primitive(field);
            if (!p.isNumber()) throw bad(field, "must be a number, got " + p);
            double v = p.getAsDouble();
            if (!Double.isFinite(v)) throw bad(field, "must be finite, got " + p);
            return v;
        }

        /** A judge's mean score: on the 0-100 scale every judge reports, or the line is not a steer run. */
        double score(String field) {
            double v = number(field);
            if (v < 0 || v > 100) throw bad(field, "must be a score in 0..100, got " + o.get(field));
            return v;
        }

        int integer(String field) {
            double v = number(field);
            if (v != Math.rint(v) || v < 0 || v > Integer.MAX_VALUE) throw bad(field, "must be a non-negative integer, got " + o.get(field));
            return (int) v;
        }
    }
}
