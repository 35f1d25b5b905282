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
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * Steering vector files. {@code .json}: a flat array of numbers, or an object whose {@code "vector"} field (or the
 * field named by the key) is one, with optional string {@code "metadata"}. {@code .safetensors}: the file's only
 * tensor or the one named by the key, shaped [H] or [1, H], metadata from {@code __metadata__}. Written by other
 * tools: {@code .gguf} control vectors ({@link GgufFile}, one vector per layer), {@code .pt} torch.save files
 * ({@link TorchFile}: a tensor, a dict of them, a stack) and {@code .npy} arrays ({@link NpyFile}); see
 * {@link VectorContents} for the keys that pick one vector of several.
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
        return open(file).select(key);
    }

    /**
     * The vector a command steering {@code layer} takes from {@code file}: the one {@code key} picks; else, from a
     * GGUF control vector, {@code direction.layer} (its layers named when it lacks that one); else the file's only one.
     */
    public static SteeringVector read(Path file, String key, int layer) {
        if (key == null && isLayered(file)) return open(file).atLayer(layer);
        return read(file, key);
    }

    /** Whether {@code file}'s name ends in an extension steer reads vectors from. */
    public static boolean isVectorFile(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        for (String ext : EXTENSIONS) if (name.endsWith(ext)) return true;
        return false;
    }

    /** Whether the format names each vector's layer (a GGUF control vector), so a spec's layer picks the vector. */
    public static boolean isLayered(Path file) {
        return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf");
    }

    /**
     * A one-line warning when {@code v}'s file names a model that is not a Gemma-2 one (steer runs only those):
     * GGUF {@code controlvector.model_hint}, steer's safetensors {@code model}. Null when it names none, names
     * "unknown", or a Gemma or steer random model. A warning, not a refusal: hints are loose ("llama" for any
     * Llama) and the hidden-size check refuses what cannot fit.
     */
    public static String modelMismatch(SteeringVector v) {
        String model = v.provenance().model();
        if (model == null || model.isBlank() || model.equalsIgnoreCase("unknown")) return null;
        String m = model.toLowerCase(Locale.ROOT);
        if (m.contains("gemma") || m.startsWith("random:")) return null;
        String field = v.provenance().metadata().containsKey(GgufFile.MODEL_HINT) ? GgufFile.MODEL_HINT : "model";
        String file = v.source().contains("#") ? v.source().substring(0, v.source().lastIndexOf('#')) : v.source();
        return file + " names model '" + model + "' (" + field + "), not a Gemma-2 model: it was likely made for another model";
    }

    /** The extensions {@link #read} and {@link #open} know. */
    public static final List<String> EXTENSIONS = List.of(".json", ".safetensors", ".gguf", ".pt", ".pth", ".npy");

    /** Everything {@code file} holds: each vector with the key that picks it, its layer where the format has one, the metadata. */
    public static VectorContents open(Path file) {
        if (Files.isDirectory(file)) throw new BadInputException("vector file " + file + " is a directory, not a vector file");
        if (!Files.isRegularFile(file)) throw new BadInputException("vector file " + file + " does not exist");
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".gguf")) return GgufFile.read(file);
        if (name.endsWith(".pt") || name.endsWith(".pth")) {
            TorchFile.Contents c = TorchFile.read(file);
            return contents(file, "pt", c.arrays(), c.metadata());
        }
        if (name.endsWith(".npy")) {
            Map<String, StoredArray> one = new LinkedHashMap<>();
            one.put(null, NpyFile.read(file));
            return contents(file, "npy", one, Map.of());
        }
        if (name.endsWith(".safetensors")) return openSafetensors(file);
        if (name.endsWith(".json")) return openJson(file);
        throw new BadInputException(file + ": unknown vector file type (expected " + String.join(", ", EXTENSIONS) + ")");
    }

    /**
     * Writes a GGUF control vector ({@link GgufFile#write}): one F32 {@code direction.N} per entry of
     * {@code byLayer} (every layer &ge; 1), the model hint and {@code extra} metadata keys.
     */
    public static void writeGguf(Path file, SortedMap<Integer, float[]> byLayer, String modelHint, Map<String, Object> extra) {
        byLayer.forEach((l, v) -> checkFinite(file, v));
        GgufFile.write(file, byLayer, modelHint, extra);
    }

    /** Writes a one-vector JSON file: {@code {"vector": [...], "metadata": {...}}}, atomically. */
    public static void writeJson(Path file, float[] v, Map<String, String> metadata) {
        checkFinite(file, v);
        JsonObject o = new JsonObject();
        JsonArray a = new JsonArray();
        for (float x : v) a.add(x);
        o.add(TENSOR_NAME, a);
        JsonObject meta = new JsonObject();
        if (metadata != null) new java.util.TreeMap<>(metadata).forEach(meta::addProperty);
        o.add("metadata", meta);
        writeAtomically(file, o.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The whole file, mapped read-only (vector files are small; a file past 2 GiB is not one). */
    static ByteBuffer map(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() > Integer.MAX_VALUE) throw new BadInputException(file + ": " + ch.size() + " bytes is too large for a vector file");
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Writes {@code bytes} to a temporary file beside {@code file}, forces it to disk and renames it over {@code file}. */
    static void writeAtomically(Path file, byte[] bytes) {
        dev.steer.models.hf.AtomicWrite.bytes(file, bytes);
    }

    /**
     * Named arrays as vectors: a 1-D (or [1, H]) array is one vector keyed by its name; a larger one is a stack,
     * one vector per row keyed by its indices. Layers are not inferred from anything but the metadata.
     */
    private static VectorContents contents(Path file, String format, Map<String, StoredArray> arrays, Map<String, String> metadata) {
        List<VectorContents.Entry> entries = new ArrayList<>();
        Map<String, long[]> stacks = new LinkedHashMap<>();
        Set<String> dtypes = new TreeSet<>();
        VectorProvenance base = VectorProvenance.fromMetadata(file.toString(), metadata);
        int total = 0;
        for (StoredArray a : arrays.values()) total += isRow(a) ? 1 : a.rows();
        for (Map.Entry<String, StoredArray> e : arrays.entrySet()) {
            StoredArray a = e.getValue();
            dtypes.add(a.dtype());
            if (a.values().length == 0) throw new BadInputException(file + ": " + (e.getKey() == null ? "the tensor" : "'" + e.getKey() + "'") + " is empty");
            if (isRow(a)) {
                entries.add(entry(file, base, total, e.getKey(), a.row(0)));
                continue;
            }
            long[] lead = a.leading();
            stacks.put(e.getKey() == null ? "" : e.getKey(), lead);
            long[] at = new long[lead.length];
            for (int r = 0; r < a.rows(); r++) {
                entries.add(entry(file, base, total, VectorContents.rowKey(e.getKey(), at), a.row(r)));
                for (int i = lead.length - 1; i >= 0; i--) {
                    if (++at[i] < lead[i]) break;
                    at[i] = 0;
                }
            }
        }
        String dtype = dtypes.size() == 1 ? dtypes.iterator().next() : "mixed";
        return new VectorContents(file, format, dtype, entries, metadata, false, stacks);
    }

    private static boolean isRow(StoredArray a) {
        long[] s = a.shape();
        return s.length == 1 || (s.length == 2 && s[0] == 1);
    }

    private static VectorContents.Entry entry(Path file, VectorProvenance base, int total, String key, float[] values) {
        checkFinite(key == null ? file : Path.of(file + "#" + key), values);
        String source = total == 1 || key == null ? file.toString() : file + "#" + key;
        VectorProvenance p = new VectorProvenance(source, base.model(), base.layer(), base.method(), base.pooling(), base.trait(), base.metadata());
        return new VectorContents.Entry(key, base.layer(), new SteeringVector(values, p));
    }

    private static VectorContents openSafetensors(Path file) {
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            Map<String, StoredArray> arrays = new LinkedHashMap<>();
            for (String n : new TreeSet<>(st.names())) {
                var t = st.tensor(n);
                float[] v = t.toFloatArray();
                double[] d = new double[v.length];
                for (int i = 0; i < v.length; i++) d[i] = v[i];
                arrays.put(n, new StoredArray(dtypeLabel(t.dtype()), t.shape(), d));
            }
            if (arrays.isEmpty()) throw new BadInputException(file + ": holds no tensors");
            return contents(file, "safetensors", arrays, st.metadata());
        }
    }

    private static VectorContents openJson(Path file) {
        SteeringVector only = readJson(file, null, true);
        if (only != null) {
            Map<String, StoredArray> one = new LinkedHashMap<>();
            one.put(null, new StoredArray("float32", new long[] {only.size()}, widen(only.values())));
            return contents(file, "json", one, only.provenance().metadata());
        }
        JsonObject o = JsonParser.parseString(readText(file)).getAsJsonObject();
        Map<String, StoredArray> arrays = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (String field : o.keySet()) {
            if (field.equals("metadata") || !o.get(field).isJsonArray()) continue;
            SteeringVector v = readJson(file, field, false);
            metadata = v.provenance().metadata();
            arrays.put(field, new StoredArray("float32", new long[] {v.size()}, widen(v.values())));
        }
        if (arrays.isEmpty()) throw new BadInputException(file + ": no field holds an array of numbers (fields: " + o.keySet() + ")");
        return contents(file, "json", arrays, metadata);
    }

    /** safetensors' dtype names (F32, BF16) as the other formats' labels (float32, bfloat16). */
    private static String dtypeLabel(String safetensorsDtype) {
        return switch (safetensorsDtype) {
            case "F32" -> "float32";
            case "F64" -> "float64";
            case "F16" -> "float16";
            case "BF16" -> "bfloat16";
            default -> safetensorsDtype.toLowerCase(Locale.ROOT);
        };
    }

    private static double[] widen(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
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

    private static String readText(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static SteeringVector readJson(Path file, String key) {
        return readJson(file, key, false);
    }

    /** {@code onlyArray}: return null for an object (the caller lists its fields) instead of reading its vector field. */
    private static SteeringVector readJson(Path file, String key, boolean onlyArray) {
        JsonElement root;
        String text = readText(file);
        try {
            root = JsonParser.parseString(text);
        } catch (RuntimeException e) {
            throw new BadInputException(file + ": not valid JSON (" + JsonErrorText.of(e) + ")");
        }
        if (onlyArray && root.isJsonObject()) return null;
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
