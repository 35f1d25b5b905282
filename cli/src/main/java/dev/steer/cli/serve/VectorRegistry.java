package dev.steer.cli.serve;

import dev.steer.engine.BadInputException;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.vectors.VectorContents;
import dev.steer.models.vectors.VectorFile;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The steering vectors a server knows by name, registered at start: {@code --vector NAME=FILE[#KEY]} (any file
 * {@link VectorFile} reads; a GGUF control vector without a key registers every layer as {@code NAME_layer{N}}),
 * and {@code --vectors DIR} (every {@code {method}_layer{L}.safetensors} there as {@code {method}_layer{L}}, every
 * {@code {method}.gguf} as {@code {method}_layer{N}} per direction). A name registered twice, or a vector whose
 * length is not the model's hidden size, is bad input (exit 2); a file naming another model is warned about.
 */
public final class VectorRegistry {
    /** {@code layer}: the layer its file names (or its metadata), null when unknown. */
    public record Entry(String name, SteeringVector vector, Integer layer, Path file) {
    }

    static final Pattern DIR_FILE = Pattern.compile("(.+)_layer(\\d+)\\.safetensors");
    static final Pattern DIR_GGUF = Pattern.compile("([A-Za-z0-9_.\\-]+)\\.gguf");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.\\-]+");

    private final Map<String, Entry> byName = new LinkedHashMap<>();
    private final List<String> warnings = new java.util.ArrayList<>();

    private VectorRegistry() {
    }

    /** {@link #load} without warnings. */
    public static VectorRegistry load(List<String> named, List<Path> dirs, ModelDims dims) {
        return load(named, dirs, dims, null);
    }

    /** Reads every vector; {@code named}: NAME=FILE values of --vector; {@code err}: where warnings go (null: none). */
    public static VectorRegistry load(List<String> named, List<Path> dirs, ModelDims dims, PrintWriter err) {
        VectorRegistry r = new VectorRegistry();
        for (String arg : named) {
            int eq = arg.indexOf('=');
            if (eq <= 0 || eq == arg.length() - 1)
                throw new BadInputException("--vector '" + arg + "': expected NAME=FILE, e.g. optimism=vectors/optimism/mean_diff_layer12.safetensors");
            String name = arg.substring(0, eq);
            if (!NAME.matcher(name).matches())
                throw new BadInputException("--vector '" + arg + "': the name may hold letters, digits, '_', '.', '-' only");
            String fileText = arg.substring(eq + 1), key = null;
            int hash = fileText.lastIndexOf('#');
            if (hash > 0 && hash < fileText.length() - 1) {
                key = fileText.substring(hash + 1);
                fileText = fileText.substring(0, hash);
            }
            Path file = Path.of(fileText);
            if (key == null && VectorFile.isLayered(file)) {
                r.addLayers(name, file, "--vector " + arg, dims, err);
                continue;
            }
            SteeringVector v = VectorFile.read(file, key);
            r.warn(v, err);
            r.add(new Entry(name, v, v.provenance().layer(), file), "--vector " + arg, dims);
        }
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) throw new BadInputException("--vectors " + dir + ": not a directory");
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(p -> DIR_FILE.matcher(p.getFileName().toString()).matches()
                        || DIR_GGUF.matcher(p.getFileName().toString()).matches()).sorted().toList();
            } catch (IOException e) {
                throw new BadInputException("--vectors " + dir + ": cannot list the directory: " + e.getMessage(), e);
            }
            if (files.isEmpty())
                throw new BadInputException("--vectors " + dir + ": no {method}_layer{L}.safetensors or {method}.gguf file there");
            for (Path f : files) {
                Matcher g = DIR_GGUF.matcher(f.getFileName().toString());
                if (g.matches()) {
                    r.addLayers(g.group(1), f, "--vectors " + dir, dims, err);
                    continue;
                }
                Matcher m = DIR_FILE.matcher(f.getFileName().toString());
                if (!m.matches()) continue;
                String name = m.group(1) + "_layer" + m.group(2);
                SteeringVector v = VectorFile.read(f, null);
                r.warn(v, err);
                r.add(new Entry(name, v, Integer.parseInt(m.group(2)), f), "--vectors " + dir, dims);
            }
        }
        // Warned only once every vector registered: bad input stays one line on stderr.
        if (err != null) for (String w : r.warnings) err.println("steer: warning: " + w);
        return r;
    }

    /** Every direction.N of a GGUF control vector as {@code NAME_layer{N}}, at layer N. */
    private void addLayers(String name, Path file, String flag, ModelDims dims, PrintWriter err) {
        VectorContents c = VectorFile.open(file);
        if (c.vectors().isEmpty()) throw new BadInputException(flag + ": " + file + " holds no direction.N tensor");
        warn(c.vectors().get(0).vector(), err);
        for (VectorContents.Entry e : c.vectors())
            add(new Entry(name + "_layer" + e.layer(), e.vector(), e.layer(), file), flag, dims);
    }

    private void warn(SteeringVector v, PrintWriter err) {
        String w = err == null ? null : VectorFile.modelMismatch(v);
        if (w != null) warnings.add(w);
    }

    private void add(Entry e, String flag, ModelDims dims) {
        Entry old = byName.get(e.name());
        if (old != null)
            throw new BadInputException(flag + ": vector name '" + e.name() + "' is registered twice (" + old.file() + " and " + e.file() + ")");
        if (e.vector().size() != dims.hidden())
            throw new BadInputException(flag + ": " + e.file() + " has " + e.vector().size() + " elements, the model's hidden size is " + dims.hidden());
        byName.put(e.name(), e);
    }

    public Entry get(String name) {
        return byName.get(name);
    }

    public Collection<Entry> all() {
        return byName.values();
    }
}
