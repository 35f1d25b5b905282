package dev.steer.models.hf;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;
import dev.steer.engine.JsonErrorText;
import dev.steer.engine.tensor.HostTensor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A Hugging Face model directory: {@code config.json} plus safetensors weights, either one {@code model.safetensors}
 * or shards listed in {@code model.safetensors.index.json} ({@code weight_map}: tensor name → shard file name).
 * All shards are memory-mapped on open; closing releases them.
 */
public final class Checkpoint implements TensorSource, AutoCloseable {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    /** Elements per task of the NaN scan: large enough to amortise, small enough to spread one big tensor over cores. */
    private static final long SCAN_CHUNK = 1 << 24;

    private final Path dir;
    private final JsonObject config;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsTensor> tensors;

    private Checkpoint(Path dir, JsonObject config, List<SafetensorsFile> files, Map<String, SafetensorsTensor> tensors) {
        this.dir = dir;
        this.config = config;
        this.files = files;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    public static Checkpoint open(Path dir) {
        JsonObject config = readJson(configFile(dir));
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            Map<String, SafetensorsTensor> tensors = new TreeMap<>();
            if (Files.isRegularFile(dir.resolve(SINGLE))) {
                SafetensorsFile f = SafetensorsFile.open(dir.resolve(SINGLE));
                files.add(f);
                for (String name : f.names()) tensors.put(name, f.tensor(name));
            } else if (Files.isRegularFile(dir.resolve(INDEX))) {
                openShards(dir, files, tensors);
            } else {
                String hint = Files.exists(dir.resolve("pytorch_model.bin"))
                        ? " (found pytorch_model.bin: convert it to safetensors)" : "";
                throw new BadInputException(dir + ": no " + SINGLE + " or " + INDEX + " (steer reads safetensors weights)"
                        + hint);
            }
            return new Checkpoint(dir, config, files, tensors);
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /**
     * {@code dir/config.json}, after checking the directory and the file exist; shared with the model configs so
     * every entry point reports a wrong {@code --model} the same way.
     */
    public static Path configFile(Path dir) {
        if (!Files.exists(dir)) throw new BadInputException("model directory " + dir + " does not exist");
        if (!Files.isDirectory(dir)) throw new BadInputException("model directory " + dir + " is not a directory");
        // Without these its files look absent, and "no config.json" would send the user looking in the wrong place.
        if (!Files.isReadable(dir) || !Files.isExecutable(dir)) {
            throw new BadInputException("model directory " + dir + ": permission denied (this user may not list or enter it)");
        }
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new BadInputException(dir + ": no config.json (not a Hugging Face model directory?)");
        }
        return config;
    }

    /** Parses a JSON object file; BadInputException naming the file when it is not one. */
    public static JsonObject readJson(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw InputFiles.unreadable(file, e);
        }
        JsonElement json;
        try {
            json = JsonParser.parseString(text);
        } catch (RuntimeException e) {
            throw new BadInputException(file + ": not valid JSON (" + JsonErrorText.of(e) + ")");
        }
        if (!json.isJsonObject()) throw new BadInputException(file + ": expected a JSON object");
        return json.getAsJsonObject();
    }

    public Path dir() {
        return dir;
    }

    /** A copy of config.json's object. */
    public JsonObject config() {
        return config.deepCopy();
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public HostTensor tensor(String name) {
        HostTensor t = tensors.get(name);
        if (t == null) throw new BadInputException(dir + ": checkpoint has no tensor " + name);
        return t;
    }

    /**
     * Checks that every tensor in {@code shapes} exists with exactly that shape, in the map's iteration order, and
     * reports the first that does not.
     */
    public void expect(Map<String, long[]> shapes) {
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            HostTensor t = tensors.get(e.getKey());
            if (t == null) {
                throw new BadInputException(dir + ": tensor " + e.getKey() + " is missing (the checkpoint has "
                        + tensors.size() + " tensors; does config.json match the weights?)");
            }
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new BadInputException(dir + ": tensor " + e.getKey() + " has shape " + Arrays.toString(t.shape())
                        + ", expected " + Arrays.toString(e.getValue()));
            }
        }
    }

    /**
     * Scans every tensor in {@code names} for NaN and infinity, in parallel chunks, reading the stored bits (see
     * {@link NonFiniteScan}). A non-finite weight makes every output NaN, which greedy decoding turns into an empty
     * or garbage completion with exit 0; the scan costs one read of the weights (BENCHMARKS.md has the figure).
     */
    public void requireFinite(Collection<String> names) {
        record Chunk(String name, long from, long count) {}
        List<Chunk> chunks = new ArrayList<>();
        for (String name : names) {
            SafetensorsTensor t = tensors.get(name);
            if (t == null) continue;
            for (long from = 0; from < t.elementCount(); from += SCAN_CHUNK)
                chunks.add(new Chunk(name, from, Math.min(SCAN_CHUNK, t.elementCount() - from)));
        }
        // One worker per core, each reading its chunks into one buffer of its own: a buffer per chunk was garbage the
        // heap grew by, and reading through the mapping kept every scanned page resident (the load's peak memory).
        int workers = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), chunks.size()));
        Optional<String> bad = java.util.stream.IntStream.range(0, workers).parallel().mapToObj(w -> {
            java.nio.ByteBuffer scratch = java.nio.ByteBuffer.allocateDirect(SafetensorsFile.SCAN_BUFFER_BYTES)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = w; i < chunks.size(); i += workers) {
                Chunk c = chunks.get(i);
                SafetensorsTensor t = tensors.get(c.name());
                long at = t.file().firstNonFinite(c.name(), c.from(), c.count(), scratch);
                if (at >= 0) return t.file().file() + ": tensor " + c.name() + " holds a non-finite value (NaN or infinity) at element "
                        + at + "; every output would be NaN";
            }
            return null;
        }).filter(Objects::nonNull).findFirst();
        if (bad.isPresent()) throw new BadInputException(bad.get());
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }

    /**
     * The file a {@code weight_map} entry names, which must lie in the model directory: a plain relative path without
     * {@code ..} (Hugging Face writes bare file names), so a crafted index cannot make steer read files elsewhere.
     * A shard that is a symbolic link is fine (the hub's cache links snapshots to blobs).
     */
    private static Path shardIn(Path dir, Path index, String shardName, String tensor) {
        Path name;
        try {
            name = Path.of(shardName);
        } catch (java.nio.file.InvalidPathException e) {
            throw new BadInputException(index + ": weight_map entry for " + tensor + " is not a file name: '" + shardName + "'");
        }
        boolean escapes = shardName.isEmpty() || name.isAbsolute() || name.getRoot() != null;
        for (Path part : name) escapes |= part.toString().equals("..");
        if (escapes) {
            throw new BadInputException(index + ": weight_map puts " + tensor + " in '" + shardName
                    + "', outside the model directory (shards must be file names inside " + dir + ")");
        }
        return dir.resolve(name);
    }

    private static void openShards(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsTensor> tensors) {
        Path index = dir.resolve(INDEX);
        JsonElement map = readJson(index).get("weight_map");
        if (map == null || !map.isJsonObject()) throw new BadInputException(index + ": no weight_map object");
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : map.getAsJsonObject().entrySet()) {
            String tensor = e.getKey();
            if (!e.getValue().isJsonPrimitive()) {
                throw new BadInputException(index + ": weight_map entry for " + tensor + " is not a file name");
            }
            String shardName = e.getValue().getAsString();
            SafetensorsFile shard = shards.get(shardName);
            if (shard == null) {
                Path shardFile = shardIn(dir, index, shardName, tensor);
                if (!Files.isRegularFile(shardFile)) {
                    throw new BadInputException(index + ": shard " + shardName + " (holding " + tensor
                            + ") is missing from " + dir);
                }
                shard = SafetensorsFile.open(shardFile);
                files.add(shard);
                shards.put(shardName, shard);
            }
            if (!shard.has(tensor)) {
                throw new BadInputException(index + ": weight_map puts " + tensor + " in " + shardName
                        + ", which does not contain it");
            }
            tensors.put(tensor, shard.tensor(tensor));
        }
    }
}
