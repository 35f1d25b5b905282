package dev.steer.models.hf;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.steer.engine.BadInputException;

import java.math.BigDecimal;
import java.nio.file.Path;

/**
 * Typed access to a config file's top-level fields, where every failure is a BadInputException naming the file
 * and the field. "Absent" means missing or JSON null, which is how transformers writes an unset option.
 */
public final class ConfigFields {
    private final JsonObject json;
    private final Path file;

    public ConfigFields(JsonObject json, Path file) {
        this.json = json;
        this.file = file;
    }

    public Path file() {
        return file;
    }

    public boolean present(String field) {
        JsonElement e = json.get(field);
        return e != null && !e.isJsonNull();
    }

    /** Written explicitly as {@code null}, which for some options (softcaps) means "off" rather than "default". */
    public boolean isNull(String field) {
        return json.has(field) && json.get(field).isJsonNull();
    }

    public JsonElement get(String field) {
        return present(field) ? json.get(field) : null;
    }

    public int requiredInt(String field) {
        return toInt(field, require(field));
    }

    public int optionalInt(String field, int fallback) {
        return present(field) ? toInt(field, json.get(field)) : fallback;
    }

    public double requiredDouble(String field) {
        return toDouble(field, require(field));
    }

    public double optionalDouble(String field, double fallback) {
        return present(field) ? toDouble(field, json.get(field)) : fallback;
    }

    public String optionalString(String field, String fallback) {
        if (!present(field)) return fallback;
        JsonElement e = json.get(field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) throw wrongType(field, "a string", e);
        return e.getAsString();
    }

    public boolean optionalBoolean(String field, boolean fallback) {
        if (!present(field)) return fallback;
        JsonElement e = json.get(field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) throw wrongType(field, "true or false", e);
        return e.getAsBoolean();
    }

    /** Converts one JSON value (a field's value, or an element inside it) to an exact int. */
    public int toInt(String field, JsonElement e) {
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) throw wrongType(field, "an integer", e);
        try {
            return new BigDecimal(e.getAsString()).intValueExact();
        } catch (ArithmeticException | NumberFormatException ex) {
            throw wrongType(field, "an integer", e);
        }
    }

    /** A finite number: no config field means NaN or infinity (Gson's lenient parser reads both, and 1e400 too). */
    public double toDouble(String field, JsonElement e) {
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) throw wrongType(field, "a number", e);
        double v = e.getAsDouble();
        if (!Double.isFinite(v)) throw wrongType(field, "a finite number", e);
        return v;
    }

    public BadInputException invalid(String field, String why) {
        return new BadInputException(file + ": " + field + " " + why);
    }

    private JsonElement require(String field) {
        if (!present(field)) throw new BadInputException(file + ": missing required field '" + field + "'");
        return json.get(field);
    }

    private BadInputException wrongType(String field, String expected, JsonElement got) {
        return new BadInputException(file + ": field '" + field + "' must be " + expected + ", got " + got);
    }
}
