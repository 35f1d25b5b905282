package dev.steer.models.vectors;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;
import dev.steer.engine.JsonErrorText;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.engine.steering.VectorProvenance;
import dev.steer.engine.tensor.HostTensor;
import dev.steer.models.hf.SafetensorsFile;
import dev.steer.models.hf.SafetensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Steering vector files. {@code .json}: a flat array of numbers, or an object whose {@code "vector"} field (or the
 * field named by the key) is one, with optional string {@code "metadata"}. {@code .safetensors}: the file's only
 * tensor or the one named by the key, shaped [H] or [1, H], metadata from {@code __metadata__}.
 */
public final class VectorFile {
    /** Tensor name used when writing, and the JSON object field read by default. */
    public static final String TENSOR_NAME = "vector";

    private VectorFile() {}

    /** @param key which tensor (safetensors) or field (JSON object) holds the vector; null to take the only one */
    public static SteeringVector read(Path file, String key) {
        if (Files.isDirectory(file)) throw new BadInputException("vector file " + file + " is a directory, not a vector file");
        if (!Files.isRegularFile(file)) throw new BadInputException("vector file " + file + " does not exist");
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".json")) return readJson(file, key);
        if (name.endsWith(".safetensors")) return readSafetensors(file, key);
        throw new BadInputException(file + ": unknown vector file type (expected .json or .safetensors)");
    }

    /** Writes {@code v} as F32 tensor {@value #TENSOR_NAME}, shape [H], atomically. */
    public static void write(Path file, float[] v, Map<String, String> metadata) {
        checkFinite(file, v);
        SafetensorsWriter.write(file, Map.of(TENSOR_NAME, v), Map.of(TENSOR_NAME, new long[] {v.length}), metadata);
    }

    private static SteeringVector readSafetensors(Path file, String key) {
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            Set<String> names = st.names();
            String chosen = key;
            if (key == null) {
                if (names.isEmpty()) throw new BadInputException(file + ": holds no tensors");
                if (names.size() > 1) {
                    throw new BadInputException(file + " holds several tensors " + names + ": pick one with a key (--vector-key)");
                }
                chosen = names.iterator().next();
            } else if (!st.has(key)) {
                throw new BadInputException(file + ": no tensor named '" + key + "' (tensors: " + names + ")");
            }
            HostTensor t = st.tensor(chosen);
            long[] shape = t.shape();
            boolean vectorShaped = shape.length == 1 || (shape.length == 2 && shape[0] == 1);
            if (!vectorShaped || t.elementCount() == 0) {
                throw new BadInputException(file + ": tensor '" + chosen + "' has shape " + Arrays.toString(shape)
                        + "; a steering vector must be [H] or [1, H]");
            }
            float[] values = t.toFloatArray();
            checkFinite(file, values);
            return new SteeringVector(values, VectorProvenance.fromMetadata(file.toString(), st.metadata()));
        }
    }

    private static SteeringVector readJson(Path file, String key) {
        JsonElement root;
        try {
            root = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new BadInputException(file + ": not valid JSON (" + JsonErrorText.of(e) + ")");
        }
        Map<String, String> metadata = new HashMap<>();
        JsonElement vector = root;
        if (root.isJsonArray()) {
            if (key != null) throw new BadInputException(file + ": is a plain array, so key '" + key + "' cannot select anything");
        } else if (root.isJsonObject()) {
            JsonObject o = root.getAsJsonObject();
            String field = key != null ? key : TENSOR_NAME;
            vector = o.get(field);
            if (vector == null) throw new BadInputException(file + ": no field '" + field + "' (fields: " + o.keySet() + ")");
            JsonElement meta = o.get("metadata");
            if (meta != null && meta.isJsonObject()) {
                meta.getAsJsonObject().entrySet().forEach(e -> metadata.put(e.getKey(),
                        e.getValue().isJsonPrimitive() ? e.getValue().getAsString() : e.getValue().toString()));
            }
        } else {
            throw new BadInputException(file + ": expected a JSON array of numbers");
        }
        float[] values = numbers(file, vector);
        checkFinite(file, values);
        return new SteeringVector(values, VectorProvenance.fromMetadata(file.toString(), metadata));
    }

    /** A flat array, or a single row [[...]] (the [1, H] layout some tools export). */
    private static float[] numbers(Path file, JsonElement json) {
        if (!json.isJsonArray()) throw new BadInputException(file + ": vector is not a JSON array");
        JsonArray a = json.getAsJsonArray();
        if (a.size() == 1 && a.get(0).isJsonArray()) a = a.get(0).getAsJsonArray();
        if (a.isEmpty()) throw new BadInputException(file + ": vector is empty");
        float[] values = new float[a.size()];
        for (int i = 0; i < values.length; i++) {
            JsonElement e = a.get(i);
            if (isNonFiniteLiteral(e)) {
                // Python's json.dumps writes NaN / Infinity bare; gson reads them as strings. checkFinite reports them.
                values[i] = Float.parseFloat(e.getAsString());
            } else if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
                throw new BadInputException(file + ": element " + i + " is not a number (" + e + ")");
            } else {
                values[i] = (float) e.getAsDouble();
            }
        }
        return values;
    }

    private static boolean isNonFiniteLiteral(JsonElement e) {
        if (!e.isJsonPrimitive()) return false;
        String s = e.getAsString();
        return s.equals("NaN") || s.equals("Infinity") || s.equals("-Infinity");
    }

    private static void checkFinite(Path file, float[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new BadInputException(file + ": element " + i + " is " + values[i] + " (a steering vector must be finite)");
            }
        }
    }
}
