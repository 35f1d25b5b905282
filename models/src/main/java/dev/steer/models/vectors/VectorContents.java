package dev.steer.models.vectors;

import dev.steer.engine.BadInputException;
import dev.steer.engine.steering.SteeringVector;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Everything a vector file holds: each 1-D vector it carries with the key that picks it, the layer where the format
 * defines one (a GGUF control vector's {@code direction.N} is block N's output, steer's layer N), and the file's
 * metadata. A stack (an N-D tensor or array) gives one vector per row, keyed by its raw indices ({@code 2,15}, or
 * {@code name[2,15]} inside a dict); a row's layer is never inferred, since a {@code hidden_states} stack's row r
 * is block r-1's output.
 *
 * @param format  gguf, pt, npy, safetensors or json
 * @param dtype   the stored element type (float32, float64, bfloat16, float16; "mixed" when they differ)
 * @param layered whether the format names the layer of each vector (GGUF), so a spec's layer picks the vector
 * @param stacks  the leading shape of every stack, by its name ("" for an unnamed one), to read negative indices
 */
public record VectorContents(Path file, String format, String dtype, List<Entry> vectors, Map<String, String> metadata,
                             boolean layered, Map<String, long[]> stacks) {
    /** One vector of the file: {@code key} null for the only, unnamed, vector; {@code layer} null where unknown. */
    public record Entry(String key, Integer layer, SteeringVector vector) {
    }

    public VectorContents {
        vectors = List.copyOf(vectors);
        metadata = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metadata));
        stacks = Map.copyOf(stacks);
    }

    /** The vectors' common length; -1 when they differ (a file mixing widths). */
    public int hiddenSize() {
        int h = vectors.isEmpty() ? 0 : vectors.get(0).vector().size();
        for (Entry e : vectors) if (e.vector().size() != h) return -1;
        return h;
    }

    /** The layers the file has vectors for (ascending); empty unless {@link #layered}. */
    public List<Integer> layers() {
        TreeSet<Integer> out = new TreeSet<>();
        if (layered) for (Entry e : vectors) if (e.layer() != null) out.add(e.layer());
        return List.copyOf(out);
    }

    /**
     * The vector {@code key} picks: null for the file's only vector (or its {@code vector} entry, steer's own name);
     * a key as listed; a GGUF layer number ({@code 15} for {@code direction.15}); or indices into a stack, negative
     * counting from the end as Python does ({@code -1,15}, {@code name[-1,15]}).
     */
    public SteeringVector select(String key) {
        return select(key, "FILE#KEY" + (layered ? " or a layer" : "") + " (or --vector-key)");
    }

    /** {@link #select(String)}, naming {@code howToPick} (the caller's way to give a key) when a key is needed. */
    public SteeringVector select(String key, String howToPick) {
        if (key == null) {
            if (vectors.size() == 1) return vectors.get(0).vector();
            for (Entry e : vectors) if (VectorFile.TENSOR_NAME.equals(e.key())) return e.vector();
            if (vectors.isEmpty()) throw new BadInputException(file + ": holds no vectors");
            throw new BadInputException(file + " holds " + vectors.size() + " vectors (keys: " + keySummary()
                    + "): pick one with " + howToPick);
        }
        Entry e = find(key);
        if (e == null) e = find(canonical(key.trim()));
        if (e == null) throw new BadInputException(file + ": no vector with key '" + key + "' (keys: " + keySummary() + ")");
        return e.vector();
    }

    /** The vector for {@code layer} of a layered file; the layers it has are named when it lacks this one. */
    public SteeringVector atLayer(int layer) {
        for (Entry e : vectors) if (e.layer() != null && e.layer() == layer) return e.vector();
        throw new BadInputException(file + ": no vector for layer " + layer + " (its layers: " + ranges(layers()) + ")");
    }

    private Entry find(String key) {
        if (key == null) return null;
        for (Entry e : vectors) if (key.equals(e.key())) return e;
        return null;
    }

    /** A key as the file lists it: a layer number to direction.N, indices made non-negative and in bounds. */
    private String canonical(String key) {
        if (layered && key.matches("-?\\d+")) return GgufFile.TENSOR_PREFIX + Integer.parseInt(key);
        String name = "", idx = key;
        int open = key.lastIndexOf('[');
        if (open > 0 && key.endsWith("]")) {
            name = key.substring(0, open);
            idx = key.substring(open + 1, key.length() - 1);
        }
        long[] lead = stacks.get(name);
        if (lead == null || !idx.matches("\\s*-?\\d+(\\s*,\\s*-?\\d+)*\\s*")) return null;
        String[] parts = idx.split(",");
        String what = name.isEmpty() ? "the stack" : "stack '" + name + "'";
        if (parts.length != lead.length)
            throw new BadInputException(file + ": key '" + key + "' gives " + parts.length + " ind" + (parts.length == 1 ? "ex" : "ices")
                    + " but " + what + " of shape " + Arrays.toString(lead) + " needs " + lead.length + " to pick one vector");
        long[] at = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            long v = Long.parseLong(parts[i].trim());
            if (v < 0) v += lead[i];
            if (v < 0 || v >= lead[i])
                throw new BadInputException(file + ": key '" + key + "': index " + parts[i].trim() + " is out of range for dimension "
                        + i + " of size " + lead[i] + " (" + what + " has shape " + Arrays.toString(lead) + ")");
            at[i] = v;
        }
        return rowKey(name, at);
    }

    static String rowKey(String name, long[] at) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < at.length; i++) s.append(i == 0 ? "" : ",").append(at[i]);
        return name == null || name.isEmpty() ? s.toString() : name + "[" + s + "]";
    }

    private String keySummary() {
        List<String> keys = new ArrayList<>();
        for (Entry e : vectors) keys.add(e.key() == null ? "(unnamed)" : e.key());
        if (keys.size() <= 8) return String.join(", ", keys);
        return String.join(", ", keys.subList(0, 4)) + ", ..., " + String.join(", ", keys.subList(keys.size() - 2, keys.size()))
                + "; " + keys.size() + " in all";
    }

    /** 0-3, 7, 9-12: layers as runs. */
    public static String ranges(List<Integer> layers) {
        if (layers.isEmpty()) return "none";
        StringBuilder s = new StringBuilder();
        int i = 0;
        while (i < layers.size()) {
            int j = i;
            while (j + 1 < layers.size() && layers.get(j + 1) == layers.get(j) + 1) j++;
            if (s.length() > 0) s.append(", ");
            s.append(layers.get(i));
            if (j > i) s.append('-').append(layers.get(j));
            i = j + 1;
        }
        return s.toString();
    }
}
