package dev.steer.cli.serve;

import dev.steer.engine.BadInputException;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.vectors.VectorFile;

import java.io.IOException;
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
 * The steering vectors a server knows by name, registered at start: {@code --vector NAME=FILE}, and
 * {@code --vectors DIR} (every {@code {method}_layer{L}.safetensors} there as {@code {method}_layer{L}}). A name
 * registered twice, or a vector whose length is not the model's hidden size, is bad input (exit 2).
 */
public final class VectorRegistry {
    /** {@code layer}: the layer its file names (or its metadata), null when unknown. */
    public record Entry(String name, SteeringVector vector, Integer layer, Path file) {
    }

    static final Pattern DIR_FILE = Pattern.compile("(.+)_layer(\\d+)\\.safetensors");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.\\-]+");

    private final Map<String, Entry> byName = new LinkedHashMap<>();

    private VectorRegistry() {
    }

    /** Reads every vector; {@code named}: NAME=FILE values of --vector. */
    public static VectorRegistry load(List<String> named, List<Path> dirs, ModelDims dims) {
        VectorRegistry r = new VectorRegistry();
        for (String arg : named) {
            int eq = arg.indexOf('=');
            if (eq <= 0 || eq == arg.length() - 1)
                throw new BadInputException("--vector '" + arg + "': expected NAME=FILE, e.g. optimism=vectors/optimism/mean_diff_layer12.safetensors");
            String name = arg.substring(0, eq);
            if (!NAME.matcher(name).matches())
                throw new BadInputException("--vector '" + arg + "': the name may hold letters, digits, '_', '.', '-' only");
            Path file = Path.of(arg.substring(eq + 1));
            SteeringVector v = VectorFile.read(file, null);
            r.add(new Entry(name, v, v.provenance().layer(), file), "--vector " + arg, dims);
        }
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) throw new BadInputException("--vectors " + dir + ": not a directory");
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(p -> DIR_FILE.matcher(p.getFileName().toString()).matches()).sorted().toList();
            } catch (IOException e) {
                throw new BadInputException("--vectors " + dir + ": cannot list the directory: " + e.getMessage(), e);
            }
            if (files.isEmpty())
                throw new BadInputException("--vectors " + dir + ": no {method}_layer{L}.safetensors file there");
            for (Path f : files) {
                Matcher m = DIR_FILE.matcher(f.getFileName().toString());
                if (!m.matches()) continue;
                String name = m.group(1) + "_layer" + m.group(2);
                SteeringVector v = VectorFile.read(f, null);
                r.add(new Entry(name, v, Integer.parseInt(m.group(2)), f), "--vectors " + dir, dims);
            }
        }
        return r;
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
